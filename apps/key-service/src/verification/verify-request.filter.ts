import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { InvalidMessageError } from '@keyward/contracts';
import { randomUUID } from 'node:crypto';
import { Observable, throwError } from 'rxjs';

/**
 * Errors of a Kafka verification request, answered to the asker (the HTTP problem-details filter
 * cannot answer on Kafka): a bad request says why; anything else logs an error id and shows only it.
 * Such answers are not sealed, so key-client drops them like any reply it cannot authenticate; the
 * warning here is what tells an operator that a caller's key id or clock is wrong.
 */
@Catch()
export class VerifyRequestFilter implements RpcExceptionFilter {
  private readonly logger = new Logger(VerifyRequestFilter.name);

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    if (exception instanceof InvalidMessageError) {
      this.logger.warn(`refused a verification request: ${exception.reason}`);
      return throwError(() => ({ status: 'error', message: `invalid verification request: ${exception.reason}` }));
    }
    const errorId = randomUUID();
    this.logger.error({ err: exception, errorId }, `verification request failed ${errorId}`);
    return throwError(() => ({ status: 'error', message: `key-service failed; error id ${errorId}` }));
  }
}
