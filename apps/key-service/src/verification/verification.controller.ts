import { Body, Controller, Headers, HttpCode, Logger, Post, UseFilters, UseGuards } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Ctx, KafkaContext, KafkaHeaders, MessagePattern, Payload } from '@nestjs/microservices';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { KeyVerification, openKeyVerifyRequest, Topic } from '@keyward/contracts';
import { KeyVerificationResponse } from './dto/key-verification.response';
import { VerifyKeyDto } from './dto/verify-key.dto';
import { ServiceTokenGuard } from './service-token.guard';
import { callerOf, SERVICE_TOKEN_HEADER } from './service-tokens';
import { VerificationService } from './verification.service';
import { keyFromVerifyBody } from './verify-key.request';
import { VerifyRequestFilter } from './verify-request.filter';

/** Key verification for internal services, over HTTP and over Kafka request/reply. */
@ApiTags('verification')
@Controller('v1/keys/verify')
export class VerificationController {
  private readonly logger = new Logger(VerificationController.name);
  private readonly sealingSecret: string;

  constructor(
    private readonly verification: VerificationService,
    config: ConfigService,
  ) {
    this.sealingSecret = config.getOrThrow<string>('KEY_VERIFY_SEALING_KEY');
  }

  @Post()
  @HttpCode(200)
  @UseGuards(ServiceTokenGuard)
  @ApiHeader({ name: SERVICE_TOKEN_HEADER, required: true, description: 'A token from VERIFY_SERVICE_TOKENS' })
  @ApiBody({ type: VerifyKeyDto })
  @ApiOkResponse({ type: KeyVerificationResponse })
  @ApiBadRequestResponse({ description: 'No key, or not text' })
  @ApiUnauthorizedResponse({ description: 'Missing or unknown service token' })
  @ApiTooManyRequestsResponse({
    description:
      'A failed verification past this caller’s budget for the minute (never for a valid key); see Retry-After',
  })
  verify(@Body() body: unknown, @Headers(SERVICE_TOKEN_HEADER) token: string): Promise<KeyVerification> {
    return this.verification.verifyFor(callerOf(token), keyFromVerifyBody(body));
  }

  @MessagePattern(Topic.KeyVerify)
  @UseFilters(VerifyRequestFilter)
  async onVerifyRequest(@Payload() request: unknown, @Ctx() context: KafkaContext): Promise<KeyVerification | null> {
    const headers = context.getMessage().headers ?? {};
    if (!headers[KafkaHeaders.CORRELATION_ID] || !headers[KafkaHeaders.REPLY_TOPIC]) {
      // Nest treats such a message as an event: a failure would not be answered but retried forever,
      // stalling the partition. Nobody waits for an answer, so skip it.
      this.logger.warn(
        `skipped a message on ${context.getTopic()}[${context.getPartition()}]@${context.getMessage().offset}: no reply address`,
      );
      return null;
    }
    return this.verification.verify(openKeyVerifyRequest(request, this.sealingSecret));
  }
}
