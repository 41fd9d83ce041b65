import { applyDecorators } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { RateLimited } from '../rate-limits/rate-limits';

/** A change to the account's settings: counted per session and per account, 429 past the hour's budget. */
export const AccountChange = () =>
  applyDecorators(
    RateLimited('account-changes-session', 'account-changes'),
    ApiTooManyRequestsResponse({
      description:
        'Too many account changes this hour, by this session or by the account’s sessions together; see Retry-After',
    }),
  );
