/** Flags override the environment: `--port 9000` is OMTX_PORT=9000. */
export const SERVE_FLAGS = {
  host: 'OMTX_HOST',
  port: 'OMTX_PORT',
  'data-dir': 'OMTX_DATA_DIR',
  'worker-url': 'OMTX_WORKER_URL',
  'log-level': 'OMTX_LOG_LEVEL',
} as const;
