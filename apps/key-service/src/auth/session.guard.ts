import { CanActivate, createParamDecorator, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { UserDocument } from '../users/user.schema';
import { UsersRepository } from '../users/users.repository';
import { SessionsRepository } from './sessions.repository';

export const SESSION_COOKIE = 'keyward_session';

type AuthedRequest = FastifyRequest & { user?: UserDocument };

/** Session from `Authorization: Bearer <token>` or the session cookie; 401 otherwise. */
@Injectable()
export class SessionGuard implements CanActivate {
  constructor(
    private readonly sessions: SessionsRepository,
    private readonly users: UsersRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const token = sessionToken(request);
    const userId = token ? await this.sessions.findUserId(token) : null;
    const user = userId ? await this.users.findById(userId) : null;
    if (!user) throw new UnauthorizedException('Log in first: no valid session');
    request.user = user;
    return true;
  }
}

export function sessionToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return (request as FastifyRequest & { cookies?: Record<string, string> }).cookies?.[SESSION_COOKIE];
}

/** The logged-in user, set by SessionGuard. */
export const CurrentUser = createParamDecorator(
  (_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<AuthedRequest>().user as UserDocument,
);
