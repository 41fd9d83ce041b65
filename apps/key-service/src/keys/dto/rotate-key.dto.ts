import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { IsKeyLabel } from './create-key.dto';

export const GRACE_HOURS_MAX = 168;

export class RotateKeyDto {
  @ApiProperty({
    minimum: 0,
    maximum: GRACE_HOURS_MAX,
    example: 24,
    description: 'How long the old key keeps working; 0 stops it at once',
  })
  @IsInt({ message: 'graceHours must be a whole number of hours' })
  @Min(0, { message: `graceHours must be 0 to ${GRACE_HOURS_MAX}` })
  @Max(GRACE_HOURS_MAX, { message: `graceHours must be 0 to ${GRACE_HOURS_MAX}` })
  graceHours: number;

  @ApiPropertyOptional({
    example: 'production 2027',
    description: 'Label of the new key; by default the old label with the rotation date, e.g. `prod (2026-11-27)`',
  })
  @IsOptional()
  @IsKeyLabel()
  label?: string;
}
