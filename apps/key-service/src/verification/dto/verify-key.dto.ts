import { ApiProperty } from '@nestjs/swagger';
import { KEY_MAX_LENGTH } from '../verify-key.request';

/** Documents the body (validated by keyFromVerifyBody, shared with the internal listener). */
export class VerifyKeyDto {
  @ApiProperty({ description: 'The full key, as the caller received it', maxLength: KEY_MAX_LENGTH })
  key: string;
}
