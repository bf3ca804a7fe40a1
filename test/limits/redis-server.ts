import { spawn, spawnSync } from 'node:child_process';
import { freePort } from '../support/free-port.js';
import { createInterface } from 'node:readline';

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * A real `redis-server` (Debian's package) on a free loopback port, without persistence.
 * Missing, it fails the test saying what to install: these tests are never skipped.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      "redis-server is not installed: the shared rate-limit tests need Debian's redis-server " +
        '(apt-get install redis-server; scripts/check.sh installs it when run as root)',
    );
  }
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.includes('Ready to accept connections')) resolve();
    });
  });
  await Promise.race([
    ready,
    exited.then((code) => {
      throw new Error(`redis-server exited (code ${code}) before it was ready:\n${output.slice(-10).join('\n')}`);
    }),
  ]);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
