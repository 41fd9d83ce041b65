import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, MongooseHealthIndicator } from '@nestjs/terminus';
import { KafkaHealthIndicator } from '@keyward/kafka';
import { FastifyReply } from 'fastify';

@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mongo: MongooseHealthIndicator,
    private readonly kafka: KafkaHealthIndicator,
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
        () => this.kafka.check('kafka'),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      void reply.status(503);
      return error.getResponse();
    }
  }
}
