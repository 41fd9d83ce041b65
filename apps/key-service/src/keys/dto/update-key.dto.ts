import { ApiProperty } from '@nestjs/swagger';
import { IsEnum } from 'class-validator';
import { LeakResponse } from '../key.schema';

/** The settings of a key a user may change (label, contacts and validity have their own rules). */
export class UpdateKeyDto {
  @ApiProperty({
    enum: LeakResponse,
    description: 'When this key is reported leaked: `revoke` it at once (the default) or `notify` its people only',
  })
  @IsEnum(LeakResponse, { message: 'leakResponse must be revoke or notify' })
  leakResponse: LeakResponse;
}
