import { TooManyRequestsException } from '@keyward/platform';

/**
 * How many failed verifications each caller may make per window, counted in this process (the
 * hot path makes no database round trip, so neither does its limit). Callers are few (one per
 * service token), so the map stays small.
 */
export class FailureBudget {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Throws 429 (with Retry-After) while the caller has used up its failures for this window. */
  check(caller: string): void {
    const window = this.current(caller);
    if (window.failures >= this.limit) {
      throw new TooManyRequestsException(Math.ceil((window.start + this.windowMs - this.now()) / 1000));
    }
  }

  recordFailure(caller: string): void {
    this.current(caller).failures++;
  }

  private current(caller: string): { start: number; failures: number } {
    const now = this.now();
    const start = now - (now % this.windowMs);
    let window = this.windows.get(caller);
    if (!window || window.start !== start) {
      window = { start, failures: 0 };
      this.windows.set(caller, window);
    }
    return window;
  }
}
