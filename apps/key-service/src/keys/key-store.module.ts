import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Key, KeySchema } from './key.schema';
import { KeysRepository } from './keys.repository';

/** The keys collection and its repository, for every process that reads or writes keys (the service, the import command). */
@Module({
  imports: [MongooseModule.forFeature([{ name: Key.name, schema: KeySchema }])],
  providers: [KeysRepository],
  exports: [KeysRepository],
})
export class KeyStoreModule {}
