import { Module } from '@nestjs/common';
import { KeyHasher } from './key-hasher';

/** The one KeyHasher of a process: keys, login codes and CSRF tokens are all hashed under KEY_HASH_SECRET. */
@Module({
  providers: [KeyHasher],
  exports: [KeyHasher],
})
export class HashingModule {}
