import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class VerifyKeyDto {
  @ApiProperty({ description: 'The full key, as the caller received it', example: 'alicetan_v1_…' })
  @IsString({ message: 'key must be text' })
  @MaxLength(256, { message: 'key must be at most 256 characters' })
  key: string;
}
