/**
 * The api under test, as `omtx serve` starts it (loadConfig → createApp → startServer) but
 * without the CLI's argument parsing, so the benchmarks do not depend on the CLI's flags.
 * Settings come from the environment (OMTX_DATA_DIR, OMTX_PORT, OMTX_LOG_LEVEL…).
 * SIGTERM drains and exits 0, so `--cpu-prof` gets to write its profile.
 */
import 'reflect-metadata';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/container.js';
import { startServer } from '../../src/server/http-server.js';

const config = loadConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: 'omtx-api' } });
const app = await createApp(config, logger);
const server = await startServer(app);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
