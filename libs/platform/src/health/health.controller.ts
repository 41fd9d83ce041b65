import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorResult, MongooseHealthIndicator } from '@nestjs/terminus';
import { FastifyReply } from 'fastify';

/** A dependency's health indicator: its result names the dependency (`kafka`, say). */
export interface DependencyCheck {
  check(): Promise<HealthIndicatorResult>;
}

export const DEPENDENCY_CHECKS = Symbol('DEPENDENCY_CHECKS');

@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mongo: MongooseHealthIndicator,
    @Inject(DEPENDENCY_CHECKS) private readonly dependencies: DependencyCheck[],
  ) {}

  /**
   * 200 or 503 with terminus's report, which names each dependency up or down. Answered here rather
   * than thrown: the problem-details filter would replace the report with a generic message.
   */
  @Get()
  async check(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      return await this.health.check([
        () => this.mongo.pingCheck('mongodb', { timeout: 1500 }),
        ...this.dependencies.map((dependency) => () => dependency.check()),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse();
    }
  }
}
