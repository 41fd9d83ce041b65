import { LABEL_MAX_LENGTH } from '@keyward/contracts';

/** Labels are unique per account regardless of case; this is the form the unique index holds. */
export const labelKeyOf = (label: string): string => label.toLowerCase();

/** A date suffix added by an earlier rotation (` (2026-11-27)`, optionally numbered ` 2`). */
const ROTATION_SUFFIX = / \(\d{4}-\d{2}-\d{2}\)(?: \d+)?$/;

/** `YYYY-MM-DD` of an instant as seen in a time zone. */
export function localDate(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/**
 * The label a rotated key's replacement takes by default: `<old label> (YYYY-MM-DD)`, the date in
 * the owner's time zone, or with ` 2`, ` 3`… when the earlier ones are taken. A date added by an
 * earlier rotation is replaced rather than stacked, and the old label is shortened (never mid
 * character) so the result stays within LABEL_MAX_LENGTH.
 */
export function rotationLabel(oldLabel: string, at: Date, timeZone: string, attempt = 1): string {
  const suffix = ` (${localDate(at, timeZone)})` + (attempt > 1 ? ` ${attempt}` : '');
  const base = oldLabel.replace(ROTATION_SUFFIX, '');
  let kept = '';
  for (const char of base) {
    if (kept.length + char.length + suffix.length > LABEL_MAX_LENGTH) break;
    kept += char;
  }
  return kept.trimEnd() + suffix;
}

/** The first default rotation label not among the account's labels (compared as labelKeyOf). */
export function freeRotationLabel(oldLabel: string, at: Date, timeZone: string, taken: ReadonlySet<string>): string {
  for (let attempt = 1; ; attempt++) {
    const label = rotationLabel(oldLabel, at, timeZone, attempt);
    if (!taken.has(labelKeyOf(label))) return label;
  }
}
