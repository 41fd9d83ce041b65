import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { asUnavailable } from './dependency-unavailable';
import { internalErrorDetail, sendProblem } from './problem-details';

/**
 * Every HTTP error as an RFC 9457 problem-details body. A dependency that cannot be reached (the
 * database down) is a 503 with Retry-After: the request may well succeed later. A 500 logs the
 * error under an id and shows the client only that id.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    if (exception instanceof HttpException) {
      void sendProblem(reply, exception);
      return;
    }
    const unavailable = asUnavailable(exception);
    if (unavailable) {
      this.logger.warn(`503: ${(exception as Error).message}`);
      void sendProblem(reply, unavailable);
      return;
    }
    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId }, `unhandled error ${errorId}`);
    void reply
      .status(500)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: 'Internal Server Error',
        status: 500,
        detail: internalErrorDetail(errorId),
        errorId,
      });
  }
}
