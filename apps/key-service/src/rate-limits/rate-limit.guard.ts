import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerRequest } from '@nestjs/throttler';
import { DocumentedRoute, Refusals, TooManyRequestsException } from '@keyward/platform';
import { LimitOptions, routeLimits } from './rate-limits';

/**
 * @nestjs/throttler's guard, answering a limit with our 429: a problem-details body saying which
 * limit was reached, and a plain Retry-After header (the library would name it per limit).
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  static openApiRefusals({ handler, controller }: DocumentedRoute): Refusals {
    const limits = routeLimits(handler, controller);
    return limits.length
      ? { 429: `Past a rate limit (${limits.join(', ')}); try again after Retry-After seconds` }
      : {};
  }

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
