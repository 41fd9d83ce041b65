import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerRequest } from '@nestjs/throttler';
import { TooManyRequestsException } from '@keyward/platform';
import { LimitOptions } from './rate-limits';

/**
 * @nestjs/throttler's guard, answering a limit with our 429: a problem-details body saying which
 * limit was reached, and a plain Retry-After header (the library would name it per limit).
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async handleRequest(request: ThrottlerRequest): Promise<boolean> {
    try {
      return await super.handleRequest(request);
    } catch (error) {
      if (!(error instanceof TooManyRequestsException)) throw error;
      throw new TooManyRequestsException(error.retryAfterSeconds, (request.throttler as LimitOptions).message);
    }
  }

  protected override throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new TooManyRequestsException(detail.timeToBlockExpire);
  }
}
