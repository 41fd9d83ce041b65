import { ApiProperty } from '@nestjs/swagger';
import { UserDocument } from '../../users/user.schema';

export class SessionUser {
  @ApiProperty() email: string;
  @ApiProperty({ description: 'Prefix of this account’s keys' }) username: string;
  @ApiProperty({ example: 'Asia/Singapore' }) timeZone: string;

  static from(user: UserDocument): SessionUser {
    return { email: user.email, username: user.username, timeZone: user.timeZone };
  }
}

export class SessionResponse {
  @ApiProperty({ type: SessionUser }) user: SessionUser;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
}

export class LoginResponse extends SessionResponse {
  @ApiProperty({ description: 'Session token for `Authorization: Bearer`; also set as an httpOnly cookie' })
  token: string;
}
