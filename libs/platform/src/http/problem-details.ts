import { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { asUnavailable } from './dependency-unavailable';
import { HttpException, HttpStatus } from './nest-http';

export interface FieldError {
  field: string;
  message: string;
}

/** A hostile body must not buy a large answer: at most this many field errors, names cut short. */
export const MAX_FIELD_ERRORS = 10;

/** Thrown for 400s that name the fields at fault. */
export class InvalidFieldsException extends HttpException {
  constructor(readonly errors: FieldError[]) {
    super({ message: errors.map((e) => e.message).join('; '), errors }, HttpStatus.BAD_REQUEST);
  }
}

/** 429 with the seconds to wait, which the filter sends as Retry-After; `reason` says which limit. */
export class TooManyRequestsException extends HttpException {
  constructor(
    readonly retryAfterSeconds: number,
    reason = 'Too many attempts',
  ) {
    super(
      { message: `${reason}; try again in ${waitOf(retryAfterSeconds)}`, retryAfterSeconds },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** "45 seconds", "15 minutes", "3 hours": the wait as a person reads it (rounded up). */
function waitOf(seconds: number): string {
  const [amount, unit] =
    seconds < 120
      ? [seconds, 'second']
      : seconds < 7200
        ? [Math.ceil(seconds / 60), 'minute']
        : [Math.ceil(seconds / 3600), 'hour'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}

/** The JSON Schema of every error body (RFC 9457 problem details), for the OpenAPI document. */
export const PROBLEM_DETAILS_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', enum: ['about:blank'] },
    title: { type: 'string', description: 'The status code’s reason phrase' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string', description: 'What went wrong, for a person to act on' },
    errors: {
      type: 'array',
      maxItems: MAX_FIELD_ERRORS,
      description: 'The fields at fault (400 only), never their values',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
        additionalProperties: false,
      },
    },
    errorId: { type: 'string', format: 'uuid', description: 'A 500’s id in the logs; quote it when reporting' },
  },
  additionalProperties: false,
} as const;

/** What a 500 tells the client: only the id its error is logged under. */
export const internalErrorDetail = (errorId: string) =>
  `Something went wrong on our side; quote error id ${errorId} when reporting it.`;

export const PROBLEM_JSON = 'application/problem+json';

/** An HttpException as the problem-details answer it is sent as. */
export interface ProblemAnswer {
  status: number;
  /** Seconds, when the exception names a wait (429, 503). */
  retryAfter?: string;
  body: { type: 'about:blank'; title: string; status: number; detail: string; errors?: FieldError[]; errorId?: string };
}

export function problemOf(exception: HttpException): ProblemAnswer {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const body = typeof response === 'string' ? { message: response } : (response as Record<string, unknown>);
  const detail = Array.isArray(body.message) ? body.message.join('; ') : String(body.message ?? exception.message);
  return {
    status,
    retryAfter: body.retryAfterSeconds === undefined ? undefined : String(body.retryAfterSeconds),
    body: {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail,
      ...(body.errors ? { errors: body.errors as FieldError[] } : {}),
      ...(typeof body.errorId === 'string' ? { errorId: body.errorId } : {}),
    },
  };
}

/** Sends an HttpException as a problem-details body (with Retry-After when it names one). */
export function sendProblem(reply: FastifyReply, exception: HttpException): FastifyReply {
  const { status, retryAfter, body } = problemOf(exception);
  if (retryAfter !== undefined) reply.header('Retry-After', retryAfter);
  return reply.status(status).type(PROBLEM_JSON).send(body);
}

/** Where an error no route answered itself is logged: a 500's under the id its answer shows. */
export interface ErrorLog {
  error(fields: { err: unknown; errorId: string }, message: string): void;
  /** A dependency unreachable (503): worth a line, not an alert. */
  warn?(message: string): void;
}

/**
 * An error as the exception it is answered with, the same on every listener: an HttpException as
 * it is, 503 with Retry-After when a dependency is unreachable, anything else a 500 whose error is
 * logged under an id that its answer shows (`errorId`) and that says nothing else.
 */
export function answerableError(error: unknown, logger: ErrorLog): HttpException {
  if (error instanceof HttpException) return error;
  const unavailable = asUnavailable(error);
  if (unavailable) {
    logger.warn?.(`503: ${(error as Error).message}`);
    return unavailable;
  }
  const errorId = randomUUID();
  logger.error({ err: error, errorId }, `request failed ${errorId}`);
  return new HttpException({ message: internalErrorDetail(errorId), errorId }, HttpStatus.INTERNAL_SERVER_ERROR);
}
