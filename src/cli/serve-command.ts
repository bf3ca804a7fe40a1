import 'reflect-metadata';
import { pino } from 'pino';
import { loadConfig } from '../config.js';
import { createApp } from '../container.js';
import { startServer } from '../server/http-server.js';
import { superviseWorker } from './worker-supervisor.js';
import { SERVE_FLAGS } from './serve-flags.js';

/** `omtx serve`: the api, the dispatcher and (unless a worker URL is given) a worker process, until SIGTERM. */
export async function runServeCommand(values: Record<string, unknown>): Promise<void> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [flag, variable] of Object.entries(SERVE_FLAGS)) {
    const value = values[flag];
    if (typeof value === 'string') env[variable] = value;
  }
  let config = loadConfig(env);
  const logger = pino({ level: config.logLevel, base: { service: 'omtx-api' } });
  const worker = config.workerUrl ? null : await superviseWorker(env, logger);
  if (worker) config = { ...config, workerUrl: worker.url };
  const app = await createApp(config, logger);
  const server = await startServer(app);
  const stop = (signal: string) => {
    logger.info({ signal }, 'shutting down: draining requests and subscriptions');
    Promise.all([server.close(), worker?.stop()]).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
