import { Controller, Delete, Get, Header, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RouteBodyConfig, ValidBody } from '@keyward/platform';
import { FastifyReply } from 'fastify';
import { CurrentSessionKey, CurrentUser, SessionGuard } from '../auth/session.guard';
import { clearSessionCookies } from '../auth/session-cookies';
import { RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { RateLimited } from '../rate-limits/rate-limits';
import { UserDocument } from '../users/user.schema';
import { AccountClosureCodes } from './account-closure-codes';
import { AccountClosure } from './account-closure.service';
import { AccountExport } from './account-export.service';
import { AccountExportResponse } from './dto/account-export.response';
import { ClosureCodeResponse } from './dto/closure-code.response';
import { CloseAccountBody, closeAccountBody } from './dto/close-account.dto';

/** A closure body is a 6-digit code. */
const closeBodyConfig: RouteBodyConfig = { bodyLimit: 1024 };

/** Settings → Account → Your data: take it along, or close the account. */
@ApiTags('account')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid session' })
@ApiNotFoundResponse({ description: 'The session’s account was closed' })
@UseGuards(SessionGuard, RateLimitGuard)
@Controller('v1/account')
export class AccountDataController {
  constructor(
    private readonly exports: AccountExport,
    private readonly closureCodes: AccountClosureCodes,
    private readonly closure: AccountClosure,
  ) {}

  @Get('export')
  @RateLimited('account-export-session', 'account-export')
  @Header('Content-Disposition', 'attachment; filename="keyward-account.json"')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({
    type: AccountExportResponse,
    description: 'Everything keyward’s key service holds about the account, as one JSON document',
  })
  @ApiTooManyRequestsResponse({ description: 'Exported too often this hour; see Retry-After' })
  export(@CurrentUser() user: UserDocument, @CurrentSessionKey() current: string): Promise<AccountExportResponse> {
    return this.exports.of(user, current);
  }

  @Post('closure-code')
  @HttpCode(202)
  @RouteConfig(closeBodyConfig)
  @RateLimited('account-closure-code-session', 'account-closure-code')
  @ApiAcceptedResponse({
    type: ClosureCodeResponse,
    description: 'A fresh code confirming the closure is emailed to the login address (it cannot sign in)',
  })
  @ApiTooManyRequestsResponse({ description: 'Too many codes requested this hour; see Retry-After' })
  async requestClosureCode(@CurrentUser() user: UserDocument): Promise<ClosureCodeResponse> {
    return { expiresAt: (await this.closureCodes.issue(user)).toISOString() };
  }

  @Delete()
  @HttpCode(204)
  @RouteConfig(closeBodyConfig)
  @RateLimited('account-closure-session', 'account-closure')
  @ApiNoContentResponse({
    description:
      'Closed: every key revoked (each contact emailed once), every session ended, the account’s personal data deleted. A second DELETE answers 404.',
  })
  @ApiBadRequestResponse({ description: 'No 6-digit code; the body names the field' })
  @ApiForbiddenResponse({ description: 'The code is wrong, used or expired (or the CSRF token is missing)' })
  @ApiTooManyRequestsResponse({ description: 'Too many attempts this hour; see Retry-After' })
  async close(
    @CurrentUser() user: UserDocument,
    @ValidBody(closeAccountBody) body: CloseAccountBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.closure.close(user, body.code);
    clearSessionCookies(reply);
  }
}
