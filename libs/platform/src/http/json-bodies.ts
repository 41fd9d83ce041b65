import { BadRequestException, HttpException, HttpStatus } from './nest-http';
import { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { answerableError, ErrorLog, sendProblem } from './problem-details';
import { RouteBodyConfig } from './route-body';

/** Largest request body by default; a route sets its own with RouteBodyConfig.bodyLimit. */
export const JSON_BODY_LIMIT = 16 * 1024;
/**
 * Deepest nesting and most object properties a body may hold: a key or login body needs 2 and 3;
 * a route with batches sets its own RouteBodyConfig.jsonMaxProperties.
 */
export const JSON_MAX_DEPTH = 8;
export const JSON_MAX_PROPERTIES = 64;

/**
 * Why a JSON text is too deep or has too many properties, found by one pass over its characters
 * before anything parses it, so a hostile body costs no more than reading it.
 */
export function jsonShapeProblem(text: string, maxProperties = JSON_MAX_PROPERTIES): string | undefined {
  let depth = 0;
  let properties = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > JSON_MAX_DEPTH) return `the JSON body is nested deeper than ${JSON_MAX_DEPTH} levels`;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    else if (c === 0x3a /* : */ && ++properties > maxProperties)
      return `the JSON body has more than ${maxProperties} properties`;
  }
  return undefined;
}

/**
 * Request bodies are JSON or nothing: every other media type (form posts included, which a
 * browser sends cross-site without asking) is a 415 before a byte of it is read. JSON is checked
 * for depth and property count before it is parsed, and parsed with Fastify's guard against
 * prototype poisoning.
 */
export function acceptJsonBodiesOnly(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const { jsonMaxProperties } = (request.routeOptions.config ?? {}) as RouteBodyConfig;
    const problem = jsonShapeProblem(body as string, jsonMaxProperties);
    if (problem) done(new BadRequestException(problem), undefined);
    else parseJson(request, body as string, done);
  });
}

export const BODY_TOO_LARGE = 'The request body is larger than this route accepts';
export const JSON_BODIES_ONLY = 'Request bodies must be sent as application/json';

const FASTIFY_DETAILS: Partial<Record<number, string>> = {
  [HttpStatus.PAYLOAD_TOO_LARGE]: BODY_TOO_LARGE,
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: JSON_BODIES_ONLY,
};

/**
 * Fastify's framework errors, which it answers before routing and outside any error handler, as
 * problem details: a URL it cannot decode is a 400; a path parameter longer than Fastify's limit (100
 * characters) names nothing this API issues, so it is the 404 any unknown id gets (Fastify's own
 * answer, a 414 in its own JSON, is in no route's contract). For FastifyServerOptions.frameworkErrors.
 */
export function answerFrameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  void sendProblem(
    reply,
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? new HttpException('Not found', HttpStatus.NOT_FOUND)
      : new HttpException('The URL is not valid', HttpStatus.BAD_REQUEST),
  );
}

/**
 * Fastify's own errors (a body too large, of the wrong type, or not JSON) and anything thrown
 * outside Nest's pipeline, as problem details (503 when a dependency is unreachable); the same for
 * every listener.
 */
export function problemDetailsErrorHandler(logger: ErrorLog) {
  return (error: FastifyError | HttpException, _request: FastifyRequest, reply: FastifyReply) => {
    const status = (error as FastifyError).statusCode;
    if (status && status >= 400 && status < 500)
      return sendProblem(reply, new HttpException(FASTIFY_DETAILS[status] ?? error.message, status));
    return sendProblem(reply, answerableError(error, logger));
  };
}
