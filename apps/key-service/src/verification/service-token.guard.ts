import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';

export const SERVICE_TOKEN_HEADER = 'x-service-token';

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Internal services authenticate with a token from VERIFY_SERVICE_TOKENS. Both sides are hashed
 * to equal lengths and every configured token is compared in constant time, so the time taken
 * says nothing about how close a guess was or which token matched.
 */
@Injectable()
export class ServiceTokenGuard implements CanActivate {
  private readonly tokens: Buffer[];

  constructor(config: ConfigService) {
    this.tokens = config.getOrThrow<string[]>('VERIFY_SERVICE_TOKENS').map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers[SERVICE_TOKEN_HEADER];
    const presented = digest(typeof header === 'string' ? header : '');
    let match = false;
    for (const token of this.tokens) match = timingSafeEqual(token, presented) || match;
    if (!match) throw new UnauthorizedException(`Missing or unknown ${SERVICE_TOKEN_HEADER} header`);
    return true;
  }
}
