import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { answerableError, sendProblem } from './problem-details';

/**
 * Every HTTP error as an RFC 9457 problem-details body. A dependency that cannot be reached (the
 * database down) is a 503 with Retry-After: the request may well succeed later. A 500 logs the
 * error under an id and shows the client only that id.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger(ProblemDetailsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    void sendProblem(host.switchToHttp().getResponse<FastifyReply>(), answerableError(exception, this.logger));
  }
}
