import { Controller, Headers, HttpCode, Logger, Post, RequestMethod, UseFilters, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { Ctx, KafkaContext, KafkaHeaders, MessagePattern, Payload } from '@nestjs/microservices';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  KeyVerification,
  keyVerificationSchema,
  KeyVerifyReply,
  openKeyVerifyRequest,
  SealingKey,
  sealKeyVerification,
  Topic,
} from '@keyward/contracts';
import { Clock, openApiSchemaOf, RouteBodyConfig, ValidBody } from '@keyward/platform';
import { z } from 'zod';
import { KeyServiceSettings } from '../config/key-service.env';
import { ServiceTokenGuard } from './service-token.guard';
import { callerOf, SERVICE_TOKEN_HEADER } from './service-tokens';
import { VerificationService } from './verification.service';
import { VERIFY_BODY_LIMIT, verifyKeyBody } from './verify-key.request';
import { VerifyRequestFilter } from './verify-request.filter';

const verifyBodyConfig: RouteBodyConfig = { bodyLimit: VERIFY_BODY_LIMIT };

/**
 * The verification route on the public port. Internal services call it on every request they
 * serve, so it writes no request log line: its answers are counted by result in
 * keyward_verifications_total, and its failures are logged where they are handled.
 */
export const VERIFY_ROUTE = { path: 'v1/keys/verify', method: RequestMethod.POST };

/** Key verification for internal services, over HTTP and over Kafka request/reply. */
@ApiTags('verification')
@Controller(VERIFY_ROUTE.path)
export class VerificationController {
  private readonly logger = new Logger(VerificationController.name);
  private readonly callers: SealingKey[];

  constructor(
    private readonly verification: VerificationService,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.callers = settings.KEY_VERIFY_CALLERS;
  }

  @Post()
  @RouteConfig(verifyBodyConfig)
  @HttpCode(200)
  @UseGuards(ServiceTokenGuard)
  @ApiOkResponse({ schema: openApiSchemaOf(keyVerificationSchema) })
  @ApiBadRequestResponse({ description: 'No key, or not text' })
  @ApiUnauthorizedResponse({ description: 'Missing or unknown service token' })
  @ApiTooManyRequestsResponse({
    description:
      'A failed verification past this caller’s budget for the minute (never for a valid key); see Retry-After',
  })
  verify(
    @ValidBody(verifyKeyBody) body: z.output<typeof verifyKeyBody>,
    @Headers(SERVICE_TOKEN_HEADER) token: string,
  ): Promise<KeyVerification> {
    return this.verification.verifyFor(callerOf(token), body.key);
  }

  @MessagePattern(Topic.KeyVerify)
  @UseFilters(VerifyRequestFilter)
  async onVerifyRequest(@Payload() request: unknown, @Ctx() context: KafkaContext): Promise<KeyVerifyReply | null> {
    const headers = context.getMessage().headers ?? {};
    const correlationId = headers[KafkaHeaders.CORRELATION_ID];
    const replyTopic = headers[KafkaHeaders.REPLY_TOPIC];
    if (!correlationId || !replyTopic) {
      // Nest treats such a message as an event: a failure would not be answered but retried forever,
      // stalling the partition. Nobody waits for an answer, so skip it.
      this.logger.warn(
        `skipped a message on ${context.getTopic()}[${context.getPartition()}]@${context.getMessage().offset}: no reply address`,
      );
      return null;
    }
    // Throws for a caller key id not in KEY_VERIFY_CALLERS, an altered or stale request: no answer.
    const { key, requestId, callerKey } = openKeyVerifyRequest(request, {
      topic: context.getTopic(),
      correlationId: String(correlationId),
      callers: this.callers,
      now: this.clock.now(),
    });
    const verification = await this.verification.verify(key);
    return sealKeyVerification(verification, {
      topic: String(replyTopic),
      requestId,
      callerKey,
      now: this.clock.now(),
    });
  }
}
