/** Fixed expiry of keys made before multi-key support: 21 April 2024, 08:00 GMT+8. */
export const LEGACY_EXPIRES_AT = new Date('2024-04-21T08:00:00+08:00');

/**
 * Adds calendar months in UTC, clamping to the last day of the target month
 * (31 Aug + 6 months = 28/29 Feb), keeping the time of day.
 */
export function addMonths(from: Date, months: number): Date {
  const y = from.getUTCFullYear();
  const m = from.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  const day = Math.min(from.getUTCDate(), lastDay);
  return new Date(
    Date.UTC(y, m, day, from.getUTCHours(), from.getUTCMinutes(), from.getUTCSeconds(), from.getUTCMilliseconds()),
  );
}
