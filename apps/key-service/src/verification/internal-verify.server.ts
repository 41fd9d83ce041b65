import { HttpException, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { acceptJsonBodiesOnly, parseBody, problemDetailsErrorHandler, sendProblem } from '@keyward/platform';
import Fastify, { FastifyInstance } from 'fastify';
import { KeyServiceSettings } from '../config/key-service.env';
import { MISSING_SERVICE_TOKEN } from './service-token.guard';
import { SERVICE_TOKEN_HEADER, ServiceTokens } from './service-tokens';
import { VerificationService } from './verification.service';
import { VERIFY_BODY_LIMIT, verifyKeyBody } from './verify-key.request';

/**
 * `POST /v1/keys/verify` on an internal listener of its own (VERIFY_HTTP_PORT), for internal
 * services that verify on every request they serve. It answers exactly as the route on the public
 * port, but on a bare Fastify instance: the public port's per-request machinery (Nest's pipeline,
 * cookies, request logs) costs more CPU than the verification itself (see bench/RESULTS.md), and
 * an internal port need not be reachable from outside at all.
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
    server.post('/v1/keys/verify', async (request, reply) => {
      const caller = this.tokens.callerOf(request.headers[SERVICE_TOKEN_HEADER]);
      if (!caller) return sendProblem(reply, new HttpException(MISSING_SERVICE_TOKEN, 401));
      return this.verification.verifyFor(caller, parseBody(verifyKeyBody, request.body).key);
    });
    server.setErrorHandler(problemDetailsErrorHandler(this.logger));
    await server.listen({ port: this.port, host: this.host });
    this.server = server;
    this.logger.log(`internal verification listening on ${this.host}:${this.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.server?.close();
  }
}
