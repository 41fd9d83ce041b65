import { Controller, Get, Patch, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiBearerAuth, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ValidBody } from '@keyward/platform';
import { CurrentUser, SessionGuard } from '../auth/session.guard';
import { RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { UserDocument } from '../users/user.schema';
import { AccountChange } from './account-changes';
import { AccountService } from './account.service';
import { AccountResponse } from './dto/account.response';
import { UpdateAccountBody, updateAccountBody } from './dto/update-account.dto';

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
  @AccountChange()
  update(
    @CurrentUser() user: UserDocument,
    @ValidBody(updateAccountBody) body: UpdateAccountBody,
  ): Promise<AccountResponse> {
    return this.account.update(user, body);
  }
}
