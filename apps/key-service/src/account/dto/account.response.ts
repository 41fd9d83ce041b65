import { ApiProperty } from '@nestjs/swagger';
import { UserDocument } from '../../users/user.schema';

export class AccountResponse {
  @ApiProperty({ format: 'email', description: 'The login email' }) email: string;
  @ApiProperty({ description: 'Prefix of this account’s keys' }) username: string;
  @ApiProperty({
    example: 'Europe/London',
    description: 'IANA time zone every time in keyward’s emails and in Settings is shown in, with its offset',
  })
  timeZone: string;
  @ApiProperty({
    description: 'Whether the owner chose timeZone; false while it is the default every account starts with',
  })
  timeZoneChosen: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;

  static from(user: UserDocument): AccountResponse {
    return {
      email: user.email,
      username: user.username,
      timeZone: user.timeZone,
      timeZoneChosen: !!user.timeZoneChosenAt,
      createdAt: user.createdAt.toISOString(),
    };
  }
}
