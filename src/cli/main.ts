import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { createApp } from '../container.js';
import { startServer } from '../server/http-server.js';
import { superviseWorker } from './worker-supervisor.js';
import { runWorkerCommand } from '../../gpu-worker/src/main.js';

const USAGE = `usage: omtx serve [--host H] [--port N] [--data-dir DIR] [--worker-url URL]
       omtx worker

serve   starts the OMTX-Hub api (GraphQL at /graphql, GraphiQL in a browser), the local
        task dispatcher and, unless --worker-url names one, a worker process, on the
        embedded default: SQLite and files in the data directory.
worker  runs only the worker service (the task target), on OMTX_WORKER_PORT.
Every flag has an environment variable (see the README's configuration table).`;

/** Flags override the environment: `--port 9000` is OMTX_PORT=9000. */
const FLAGS = {
  host: 'OMTX_HOST',
  port: 'OMTX_PORT',
  'data-dir': 'OMTX_DATA_DIR',
  'worker-url': 'OMTX_WORKER_URL',
  'log-level': 'OMTX_LOG_LEVEL',
} as const;

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])),
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (command === 'worker' && !values.help) return runWorkerCommand(process.env);
  if (values.help || command !== 'serve') {
    console.log(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [flag, variable] of Object.entries(FLAGS)) {
    const value = (values as Record<string, unknown>)[flag];
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

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(`omtx: ${error.message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
