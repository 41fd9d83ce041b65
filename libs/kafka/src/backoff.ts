/** Exponential backoff with full jitter, capped at `maxMs` (default 30 s). */
export function backoff(attempt: number, baseMs: number, maxMs = 30_000): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
