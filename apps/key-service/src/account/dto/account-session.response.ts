import { ApiProperty } from '@nestjs/swagger';
import { SessionView } from '../../auth/sessions.repository';

/** One place the account is signed in. Never holds the session's token or anything derived from it that opens it. */
export class AccountSessionResponse {
  @ApiProperty({
    description: 'Names the session for DELETE /v1/account/sessions/{id}; not its token',
    example: 'q3J0sWm4c1Zb9xYtKp2LhA',
  })
  id: string;
  @ApiProperty({ format: 'date-time', description: 'When it was signed in' }) createdAt: string;
  @ApiProperty({ format: 'date-time', description: 'When it ends by itself (12 hours after sign-in)' })
  expiresAt: string;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Its last request, to the minute; null for a session not used since before this was recorded',
  })
  lastSeenAt: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'Client address of that request', example: '203.0.113.7' })
  clientAddress: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'The device it was signed in on, summarised from its User-Agent',
    example: 'Firefox 133 on Windows',
  })
  userAgent: string | null;
  @ApiProperty({ description: 'Whether this is the session making the request' }) current: boolean;

  static from(session: SessionView, currentKey: string): AccountSessionResponse {
    return {
      id: session.id,
      createdAt: session.createdAt.toISOString(),
      expiresAt: session.expiresAt.toISOString(),
      lastSeenAt: session.lastSeenAt?.toISOString() ?? null,
      clientAddress: session.clientAddress,
      userAgent: session.userAgent,
      current: session.key === currentKey,
    };
  }
}
