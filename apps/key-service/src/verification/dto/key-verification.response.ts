import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { KEY_INVALID_REASONS, KeyInvalidReason } from '@keyward/contracts';

/** Documents the answer's two shapes (the contract is keyVerificationSchema in libs/contracts). */
export class KeyVerificationResponse {
  @ApiProperty() valid: boolean;
  @ApiPropertyOptional({ description: 'When valid' }) keyId?: string;
  @ApiPropertyOptional({ description: "When valid: the owner's user id" }) owner?: string;
  @ApiPropertyOptional({ description: 'When valid' }) label?: string;
  @ApiPropertyOptional({ description: 'When valid' }) expiresAt?: string;
  @ApiPropertyOptional({ enum: KEY_INVALID_REASONS, description: 'When not valid' }) reason?: KeyInvalidReason;
}
