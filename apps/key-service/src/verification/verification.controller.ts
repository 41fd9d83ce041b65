import { Controller, Logger, UseFilters } from '@nestjs/common';
import { Ctx, KafkaContext, KafkaHeaders, MessagePattern, Payload } from '@nestjs/microservices';
import { KeyVerifyReply, openKeyVerifyRequest, SealingKey, sealKeyVerification, Topic } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { KeyServiceSettings } from '../config/key-service.env';
import { VerificationService } from './verification.service';
import { VerifyRequestFilter } from './verify-request.filter';

/**
 * Key verification for internal services over Kafka request/reply. Over HTTP it is a node:http
 * handler on both listeners (verify-request.handler.ts).
 */
@Controller()
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
