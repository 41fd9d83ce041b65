import { ServiceUnavailableException } from './nest-http';

/** Seconds a client is asked to wait while a dependency is down (about one reconnect attempt). */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/**
 * Errors that mean "the database cannot be reached right now", not "this request is wrong": the
 * driver finds no server, loses a connection, or (mongoose) gives up holding a command while it
 * reconnects. Matched by name, so this bottom layer needs no driver import.
 */
const UNREACHABLE_DATABASE = new Set([
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
]);

const LOST_CONNECTION = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** The dependency an error says is unreachable ("database"), or null for any other error. */
function unavailableDependency(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  if (UNREACHABLE_DATABASE.has(error.name)) return 'database';
  // mongoose queues commands while disconnected and fails them with a plain MongooseError.
  if (error.name === 'MongooseError' && /buffering timed out/.test(error.message)) return 'database';
  // A connection dropped mid-command can surface as the socket's own error (seen: EPIPE from the driver).
  if (LOST_CONNECTION.has((error as NodeJS.ErrnoException).code ?? '')) return 'service we depend on';
  return null;
}

/** A 503 with Retry-After for an error that says a dependency is unreachable, or null. */
export function asUnavailable(error: unknown): ServiceUnavailableException | null {
  const dependency = unavailableDependency(error);
  if (!dependency) return null;
  return new ServiceUnavailableException({
    message: `The ${dependency} is unreachable right now; please try again in a few seconds`,
    retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS,
  });
}
