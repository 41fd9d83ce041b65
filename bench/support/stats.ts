/** The median of some figures and their range, as `median (min–max)`. */
export function medianOf(values: number[], digits = 0): { median: number; text: string } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  const range = sorted.length > 1 ? ` (${sorted[0].toFixed(digits)}–${sorted.at(-1)!.toFixed(digits)})` : '';
  return { median, text: `${median.toFixed(digits)}${range}` };
}
