import { Controller, Get, Patch, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ValidBody } from '@keyward/platform';
import { CurrentUser, SessionGuard } from '../auth/session.guard';
import { RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { RateLimited } from '../rate-limits/rate-limits';
import { UserDocument } from '../users/user.schema';
import { AccountService } from './account.service';
import { AccountResponse } from './dto/account.response';
import { UpdateAccountBody, updateAccountBody } from './dto/update-account.dto';

const TooManyAccountChanges = () =>
  ApiTooManyRequestsResponse({ description: 'This account made too many account changes this hour; see Retry-After' });

/** The logged-in user's account: its settings (and, beside them, its sessions). */
@ApiTags('account')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid session' })
@UseGuards(SessionGuard, RateLimitGuard)
@Controller('v1/account')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @Get()
  @ApiOkResponse({ type: AccountResponse })
  get(@CurrentUser() user: UserDocument): AccountResponse {
    return AccountResponse.from(user);
  }

  @Patch()
  @ApiOkResponse({ type: AccountResponse, description: 'The account with its settings changed' })
  @ApiBadRequestResponse({ description: 'Not an IANA time zone name; the body names the field' })
  @RateLimited('account-changes')
  @TooManyAccountChanges()
  update(
    @CurrentUser() user: UserDocument,
    @ValidBody(updateAccountBody) body: UpdateAccountBody,
  ): Promise<AccountResponse> {
    return this.account.update(user, body);
  }
}
