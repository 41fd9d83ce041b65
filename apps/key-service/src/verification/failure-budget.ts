import { TooManyRequestsException } from '@keyward/platform/http/problem-details';

/**
 * How many failed verifications (lookups that found no valid key) each caller may make per window,
 * counted in this process (the hot path makes no database round trip, so neither does its limit).
 * Only failures are counted and only failures are refused: a valid key never reaches the budget,
 * so junk sent through a caller cannot lock that caller's valid keys out (docs/SECURITY.md,
 * "Verification"). Callers are few (one per service token), so the map stays small.
 */
export class FailureBudget {
  private readonly windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /** Counts one failure; throws 429 (with Retry-After) once the caller is past its limit this window. */
  spend(caller: string): void {
    const window = this.current(caller);
    window.failures++;
    if (window.failures > this.limit) {
      throw new TooManyRequestsException(Math.ceil((window.start + this.windowMs - this.now()) / 1000));
    }
  }

  /** Counts failures spent elsewhere (another listener of this instance), refusing nothing. */
  count(caller: string, times = 1): void {
    this.current(caller).failures += times;
  }

  /** Each caller's failures in the current window: what a listener started now counts too. */
  spentNow(): [caller: string, failures: number][] {
    const now = this.now();
    const start = now - (now % this.windowMs);
    return [...this.windows]
      .filter(([, window]) => window.start === start)
      .map(([caller, window]) => [caller, window.failures]);
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
