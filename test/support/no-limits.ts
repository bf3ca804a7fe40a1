/**
 * Settings that turn the per-user rate limits and the query-cost budget off: tests and
 * benchmarks submit and read far faster than a person. The limits have their own tests
 * (test/limits); a test of them sets its own values on top.
 */
export const NO_LIMITS_ENV: Readonly<Record<string, string>> = {
  OMTX_RATE_SUBMIT_BATCH: '0',
  OMTX_RATE_SUBMIT_PREDICTION: '0',
  OMTX_RATE_MUTATION: '0',
  OMTX_RATE_READ: '0',
  OMTX_COST_POINTS_PER_HOUR: '100000000',
};
