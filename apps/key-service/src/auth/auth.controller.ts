import { Controller, Get, HttpCode, Post, Req, Res, UnauthorizedException, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiCookieAuth,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RouteBodyConfig, ValidBody } from '@keyward/platform';
import { FastifyReply, FastifyRequest } from 'fastify';
import { KeyServiceSettings } from '../config/key-service.env';
import { RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { RateLimited } from '../rate-limits/rate-limits';
import { AuthService } from './auth.service';
import { LoginBody, loginBody, RequestCodeBody, requestCodeBody } from './dto/request-code.dto';
import { LoginResponse, SessionResponse, SessionUser } from './dto/session.response';
import { clearSessionCookies, setSessionCookies } from './session-cookies';
import { sessionToken } from './session.guard';
import { userAgentSummary } from './user-agent';

/** Login bodies are an email and a code: anything near 4 KB is not a login. */
const authBodyConfig: RouteBodyConfig = { bodyLimit: 4 * 1024 };

@ApiTags('auth')
@UseGuards(RateLimitGuard)
@Controller('v1/auth')
export class AuthController {
  private readonly secureCookies: boolean;

  constructor(
    private readonly auth: AuthService,
    settings: KeyServiceSettings,
  ) {
    this.secureCookies = settings.SESSION_COOKIE_SECURE;
  }

  @Post('otp')
  @RouteConfig(authBodyConfig)
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'A code is on its way if the address can receive email' })
  @ApiBadRequestResponse({ description: 'Not an email address; the body names the field' })
  @ApiTooManyRequestsResponse({ description: 'Too many codes requested; see Retry-After' })
  @RateLimited('otp-email-client', 'otp-email', 'otp-client')
  async requestCode(@ValidBody(requestCodeBody) body: RequestCodeBody): Promise<void> {
    await this.auth.requestCode(body.email);
  }

  @Post('login')
  @RouteConfig(authBodyConfig)
  @HttpCode(200)
  @ApiOkResponse({ type: LoginResponse })
  @ApiBadRequestResponse({ description: 'Malformed email or code; the body names the field' })
  @ApiUnauthorizedResponse({ description: 'Wrong or expired code' })
  @ApiTooManyRequestsResponse({
    description:
      'Too many attempts for this address from this client, or (from every client together) today; see Retry-After',
  })
  @RateLimited('login-email-client', 'login-email', 'login-client')
  async login(
    @ValidBody(loginBody) body: LoginBody,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LoginResponse> {
    const device = { clientAddress: request.ip, userAgent: userAgentSummary(request.headers['user-agent']) };
    const { user, token, csrfToken, expiresAt } = await this.auth.login(body.email, body.otp, device);
    setSessionCookies(reply, { token, csrfToken, expiresAt }, this.secureCookies);
    return { token, user: SessionUser.from(user), expiresAt: expiresAt.toISOString() };
  }

  @Post('logout')
  @RouteConfig(authBodyConfig)
  @HttpCode(204)
  @ApiNoContentResponse()
  async logout(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    const { token } = sessionToken(request);
    if (token) await this.auth.logout(token);
    clearSessionCookies(reply);
  }

  @Get('session')
  @ApiBearerAuth('bearer')
  @ApiCookieAuth('cookie')
  @ApiOkResponse({ type: SessionResponse })
  @ApiUnauthorizedResponse()
  async session(@Req() request: FastifyRequest): Promise<SessionResponse> {
    const { token } = sessionToken(request);
    const session = token ? await this.auth.sessionOf(token) : null;
    if (!session) throw new UnauthorizedException('Not logged in');
    return { user: SessionUser.from(session.user), expiresAt: session.expiresAt.toISOString() };
  }
}
