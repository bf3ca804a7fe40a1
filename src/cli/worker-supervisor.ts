import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';

export interface SupervisedWorker {
  /** The worker's base URL; it stays the same across restarts. */
  url: string;
  /** The current worker process (tests kill it to prove nothing is lost). */
  pid(): number | undefined;
  stop(): Promise<void>;
}

/**
 * `omtx serve` runs the worker as a child process (`omtx worker`), as Cloud Run runs it beside
 * the api in production: a worker that dies (killed, out of memory) takes no api state with
 * it, and is started again on the same port. Its jobs come back through their leases.
 */
export async function superviseWorker(env: Record<string, string | undefined>, logger: Logger): Promise<SupervisedWorker> {
  let child: ChildProcess | null = null;
  let stopping = false;
  let port = env.OMTX_WORKER_PORT ?? '0';

  const start = () =>
    new Promise<string>((resolve, reject) => {
      const proc = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'worker'], {
        env: { ...env, OMTX_WORKER_PORT: port, OMTX_WORKER_EXIT_WITH_PARENT: '1' },
        // The worker exits when this pipe closes, so it never outlives a killed api.
        stdio: ['pipe', 'pipe', 'inherit'],
        // Its own process group, so the vina/obabel it started can be killed with it.
        detached: true,
      });
      child = proc;
      let announced = false;
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        if (!announced && line.startsWith('{"workerUrl"')) {
          announced = true;
          resolve((JSON.parse(line) as { workerUrl: string }).workerUrl);
          return;
        }
        process.stdout.write(`${line}\n`);
      });
      proc.once('exit', (code, signal) => {
        killGroup(proc.pid);
        if (!announced) return reject(new Error(`the worker exited before listening (code ${code}, signal ${signal})`));
        if (stopping) return;
        logger.warn({ code, signal }, 'worker exited; starting it again');
        setTimeout(
          () => void start().catch((error: unknown) => logger.error({ err: error }, 'worker restart failed')),
          500,
        ).unref();
      });
    });

  const url = await start();
  port = new URL(url).port;
  return {
    url,
    pid: () => child?.pid,
    async stop() {
      stopping = true;
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Ends what a dead worker left running (a docking run goes on for minutes otherwise). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already empty.
  }
}
