import { Controller, Delete, Get, HttpCode, Param, Res, UseGuards } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { clearSessionCookies } from '../auth/session-cookies';
import { CurrentSessionKey, CurrentUser, SessionGuard } from '../auth/session.guard';
import { UserDocument } from '../users/user.schema';
import { AccountSessionsService } from './account-sessions.service';
import { AccountSessionResponse } from './dto/account-session.response';

/**
 * The account's sessions: where it is signed in, and signing out there. Tokens never appear.
 * Ending sessions counts against no limit: a stolen session that spent the account's budget of
 * changes must not keep its owner from ending it (each ending removes a session, so it bounds itself).
 */
@ApiTags('account')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid session' })
@UseGuards(SessionGuard)
@Controller('v1/account/sessions')
export class AccountSessionsController {
  constructor(private readonly sessions: AccountSessionsService) {}

  @Get()
  @ApiOkResponse({
    type: [AccountSessionResponse],
    description: 'Live sessions, newest first; `current` marks the caller’s',
  })
  list(@CurrentUser() user: UserDocument, @CurrentSessionKey() current: string): Promise<AccountSessionResponse[]> {
    return this.sessions.list(user.id as string, current);
  }

  @Delete()
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Every other session of the account ended; the caller’s own goes on' })
  endOthers(@CurrentUser() user: UserDocument, @CurrentSessionKey() current: string): Promise<void> {
    return this.sessions.endOthers(user.id as string, current);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiParam({ name: 'id', description: 'A session’s `id` from GET /v1/account/sessions' })
  @ApiNoContentResponse({ description: 'Ended: its token no longer works (ending the caller’s own is logging out)' })
  @ApiNotFoundResponse({ description: 'No live session with that id on this account' })
  async end(
    @CurrentUser() user: UserDocument,
    @CurrentSessionKey() current: string,
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    if ((await this.sessions.end(user.id as string, id)) === current) clearSessionCookies(reply);
  }
}
