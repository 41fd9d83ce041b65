import { ApiProperty } from '@nestjs/swagger';

export class ClosureCodeResponse {
  @ApiProperty({ description: 'When the emailed code stops working' }) expiresAt: string;
}
