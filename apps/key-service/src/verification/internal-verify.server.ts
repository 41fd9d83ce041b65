import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { acceptJsonBodiesOnly, problemDetailsErrorHandler } from '@keyward/platform';
import Fastify, { FastifyInstance } from 'fastify';
import { KeyServiceSettings } from '../config/key-service.env';
import { ServiceTokens } from './service-tokens';
import { VerificationService } from './verification.service';
import { VERIFY_BODY_LIMIT } from './verify-key.request';
import { verifyRoute } from './verify.route';

/**
 * `POST /v1/keys/verify` on an internal listener of its own (VERIFY_HTTP_PORT), for internal
 * services that verify on every request they serve. It is the public port's route (verifyRoute) on
 * a bare Fastify instance: the public port's hooks (cookies, response headers, cross-site refusal,
 * request metrics) run on every request there (see bench/RESULTS.md),
 * and an internal port need not be reachable from outside at all.
 */
@Injectable()
export class InternalVerifyServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(InternalVerifyServer.name);
  private readonly port: number;
  private readonly host: string;
  private server?: FastifyInstance;

  constructor(
    private readonly verification: VerificationService,
    private readonly tokens: ServiceTokens,
    settings: KeyServiceSettings,
  ) {
    this.port = settings.VERIFY_HTTP_PORT;
    this.host = settings.VERIFY_HTTP_HOST;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.port === 0) return;
    const server = Fastify({ logger: false, bodyLimit: VERIFY_BODY_LIMIT });
    acceptJsonBodiesOnly(server);
    server.route(verifyRoute(this.verification, this.tokens));
    server.setErrorHandler(problemDetailsErrorHandler(this.logger));
    await server.listen({ port: this.port, host: this.host });
    this.server = server;
    this.logger.log(`internal verification listening on ${this.host}:${this.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}
