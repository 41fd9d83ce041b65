import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  Logger,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { DocumentedRoute, Refusals } from '@keyward/platform';
import { FastifyRequest } from 'fastify';
import { UserDocument } from '../users/user.schema';
import { UsersRepository } from '../users/users.repository';
import { CsrfTokens } from './csrf-tokens';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE } from './session-cookies';
import { SessionsRepository } from './sessions.repository';

type AuthedRequest = FastifyRequest & {
  user?: UserDocument;
  /** The stored key of the request's session, to tell it apart among the account's sessions. */
  sessionKey?: string;
  cookies?: Record<string, string | undefined>;
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Session from `Authorization: Bearer <token>` or the session cookie; 401 otherwise (404 when its
 * account was closed). A change
 * authenticated by cookie must also send the session's own CSRF token (the CSRF cookie's value,
 * which a cross-site page cannot read) in the `x-csrf-token` header, else 403. Bearer requests
 * are not CSRF-prone. Each session's last request is recorded, to the minute.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  static readonly openApiSecurity = [{ bearer: [] }, { cookie: [] }];

  static openApiRefusals({ method }: DocumentedRoute): Refusals {
    return {
      401: 'No valid session: log in, then send `Authorization: Bearer <token>` or the session cookie',
      ...(SAFE_METHODS.has(method)
        ? {}
        : { 403: `Authenticated by the session cookie without the session's CSRF token in ${CSRF_HEADER}` }),
    };
  }

  private readonly logger = new Logger(SessionGuard.name);

  constructor(
    private readonly sessions: SessionsRepository,
    private readonly users: UsersRepository,
    private readonly csrfTokens: CsrfTokens,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const { token, fromCookie } = sessionToken(request);
    const session = token ? await this.sessions.findSession(token) : null;
    // A session of a closed (or closing) account: the account is what is gone, so 404, not "log in".
    if (session?.accountClosed) throw accountClosed();
    const user = session ? await this.users.findById(session.userId) : null;
    if (!token || !session || !user) throw new UnauthorizedException('Log in first: no valid session');
    if (user.closingAt) throw accountClosed();
    if (
      fromCookie &&
      !SAFE_METHODS.has(request.method) &&
      !this.csrfTokens.matches(token, request.headers[CSRF_HEADER])
    ) {
      throw new ForbiddenException(`Missing or wrong ${CSRF_HEADER} header: send the ${CSRF_COOKIE} cookie's value`);
    }
    request.user = user;
    request.sessionKey = session._id;
    // Only what Settings shows: a failed write must not refuse the request it describes.
    await this.sessions
      .seen(session, request.ip)
      .catch((error: Error) => this.logger.warn(`could not record a session as seen: ${error.message}`));
    return true;
  }
}

const accountClosed = () => new NotFoundException('This account was closed');

export function sessionToken(request: AuthedRequest): { token?: string; fromCookie: boolean } {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return { token: header.slice('Bearer '.length).trim(), fromCookie: false };
  return { token: request.cookies?.[SESSION_COOKIE], fromCookie: true };
}

/** The stored key of the request's session, set by SessionGuard (never shown: it is the token's hash). */
export const CurrentSessionKey = createParamDecorator(
  (_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AuthedRequest>().sessionKey as string,
);

/** The logged-in user, set by SessionGuard. */
export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AuthedRequest>().user as UserDocument,
);
