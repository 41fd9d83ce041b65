import { CanActivate, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { Refusals } from '@keyward/platform';
import { FastifyRequest } from 'fastify';
import { MISSING_SERVICE_TOKEN, SERVICE_TOKEN_HEADER, TokenSet } from './token-set';

/** Lets in requests whose `x-service-token` is one of its tokens; 401 otherwise. */
export abstract class TokenGuard implements CanActivate {
  static readonly openApiSecurity = [{ 'service-token': [] }];

  static openApiRefusals(): Refusals {
    return { 401: MISSING_SERVICE_TOKEN };
  }

  constructor(private readonly tokens: TokenSet) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (!this.tokens.accepts(request.headers[SERVICE_TOKEN_HEADER])) {
      throw new UnauthorizedException(MISSING_SERVICE_TOKEN);
    }
    return true;
  }
}
