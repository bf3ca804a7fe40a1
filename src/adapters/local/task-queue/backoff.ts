/** Cloud Tasks' RetryConfig, in milliseconds. */
export interface RetryPolicy {
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
}

/**
 * The wait before retry number `retry` (1 for the first retry), as Cloud Tasks computes it:
 * the interval starts at minBackoff, doubles `maxDoublings` times, then grows linearly by the
 * last doubled interval, capped at maxBackoff. With 10 s / 300 s / 3 doublings the retries
 * come after 10, 20, 40, 80, 160, 240, 300, 300 … seconds.
 */
export function retryDelayMs(retry: number, { minBackoffMs, maxBackoffMs, maxDoublings }: RetryPolicy): number {
  const step = Math.max(0, retry - 1);
  const delay = step <= maxDoublings ? minBackoffMs * 2 ** step : minBackoffMs * 2 ** maxDoublings * (step - maxDoublings + 1);
  return Math.min(delay, maxBackoffMs);
}
