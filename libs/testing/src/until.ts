import { sleep } from './mailpit';

/**
 * Polls a condition until it holds, failing after `timeoutMs` with `what` in the message; returns how
 * long it took. A check may answer why it does not hold yet instead of `false`: the last such answer
 * is in the failure.
 */
export async function until(
  what: string,
  check: () => Promise<boolean | string>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<number> {
  const started = Date.now();
  for (let result = await check(); result !== true; result = await check()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`${what}: not within ${timeoutMs} ms${typeof result === 'string' ? ` (${result})` : ''}`);
    await sleep(intervalMs);
  }
  return Date.now() - started;
}

/**
 * Polls `find` until it answers something other than `undefined`, failing after `timeoutMs` with
 * `what` in the message; returns what it found.
 */
export async function untilFound<T>(
  what: string,
  find: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  let found: T | undefined;
  await until(what, async () => (found = await find()) !== undefined, timeoutMs, intervalMs);
  return found as T;
}
