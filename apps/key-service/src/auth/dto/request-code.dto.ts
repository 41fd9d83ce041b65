import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Matches, MaxLength } from 'class-validator';

const normalizeEmail = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class RequestCodeDto {
  @ApiProperty({ example: 'alice@example.com' })
  @Transform(normalizeEmail)
  @MaxLength(254, { message: 'email must be at most 254 characters' })
  @IsEmail({}, { message: 'email must be a valid email address' })
  email: string;
}

export class LoginDto extends RequestCodeDto {
  @ApiProperty({ example: '123456', description: 'The 6-digit code from the email' })
  @IsString({ message: 'otp must be the 6-digit code from the email' })
  @Matches(/^\d{6}$/, { message: 'otp must be the 6-digit code from the email' })
  otp: string;
}
