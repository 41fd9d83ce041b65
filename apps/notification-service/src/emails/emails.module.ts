import { Module } from '@nestjs/common';
import { TemplatesModule } from '../templates/templates.module';
import { EmailsService } from './emails.service';

@Module({ imports: [TemplatesModule], providers: [EmailsService], exports: [EmailsService] })
export class EmailsModule {}
