import { applyDecorators } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { RateLimited } from '../rate-limits/rate-limits';

/** A change to the account's settings: counted per account, 429 past the hour's budget. */
export const AccountChange = () =>
  applyDecorators(
    RateLimited('account-changes'),
    ApiTooManyRequestsResponse({
      description: 'This account made too many account changes this hour; see Retry-After',
    }),
  );
