import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where Debian's `google-cloud-cli-firestore-emulator` package puts Google's emulator. */
export const FIRESTORE_EMULATOR_JAR =
  process.env.OMTX_FIRESTORE_EMULATOR_JAR ??
  '/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar';

export interface RunningEmulator {
  /** `127.0.0.1:port`, as `FIRESTORE_EMULATOR_HOST` takes it. */
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (the emulators take no port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts Google's Firestore emulator as one java process (not through the `gcloud` wrapper,
 * which does not exec java and would leave it running when killed). In memory: a restart
 * on the same port starts empty. Each projectId is its own database, so suites share one
 * emulator by using their own projectId.
 */
export async function startFirestoreEmulator(port?: number): Promise<RunningEmulator> {
  if (!existsSync(FIRESTORE_EMULATOR_JAR)) {
    throw new Error(
      `Google's Firestore emulator is not installed (${FIRESTORE_EMULATOR_JAR} is missing). ` +
        'Install the Debian package google-cloud-cli-firestore-emulator (and a Java 17 runtime, openjdk-17-jre-headless), ' +
        'or set OMTX_FIRESTORE_EMULATOR_JAR to the jar: the Google Cloud adapters are tested against it and never skipped.',
    );
  }
  const chosen = port ?? (await freePort());
  const child = spawn(
    'java',
    [
      '-Duser.language=en',
      '-cp',
      FIRESTORE_EMULATOR_JAR,
      'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
      '--host=127.0.0.1',
      `--port=${chosen}`,
      '--project_id=omtx-test',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const host = `127.0.0.1:${chosen}`;
  await waitUntilServing(child, `http://${host}/`, 'Firestore emulator');
  return { host, port: chosen, stop: () => stopChild(child) };
}

/** Resolves once `url` answers; rejects with the process's output when it exits first. */
export async function waitUntilServing(child: ChildProcess, url: string, what: string, timeoutMs = 60_000): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  child.once('error', (error) => (exited = error.message));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== null) throw new Error(`${what} did not start: ${exited}\n${output}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not answer at ${url} within ${timeoutMs} ms\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
