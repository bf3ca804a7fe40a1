import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { freePort } from '../free-port.js';

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

/**
 * Starts Google's Firestore emulator as one java process (not through the `gcloud` wrapper,
 * which does not exec java and would leave it running when killed). In memory: a restart
 * on the same port starts empty. Each projectId is its own database, so suites share one
 * emulator by using their own projectId.
 */
export async function startFirestoreEmulator(port?: number, options: { seedFromExport?: string } = {}): Promise<RunningEmulator> {
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
      ...(options.seedFromExport ? [`--seed_from_export=${options.seedFromExport}`] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const host = `127.0.0.1:${chosen}`;
  await waitUntilServing(child, `http://${host}/`, 'Firestore emulator');
  return { host, port: chosen, stop: () => stopChild(child) };
}

/**
 * Writes the emulator's documents of `projectId` under `dir` (which must exist) and returns
 * the export's metadata file, which `startFirestoreEmulator(port, { seedFromExport })` loads:
 * how a test stops and restarts the in-memory emulator without losing what it held.
 * (`--export-on-exit` does nothing when the process is simply stopped.)
 */
export async function exportFirestoreEmulator(host: string, projectId: string, dir: string): Promise<string> {
  const response = await fetch(`http://${host}/emulator/v1/projects/${projectId}:export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ database: `projects/${projectId}/databases/(default)`, export_directory: dir }),
  });
  if (!response.ok) throw new Error(`exporting the Firestore emulator: HTTP ${response.status} ${await response.text()}`);
  const metadata = readdirSync(dir, { recursive: true })
    .map(String)
    .find((file) => file.endsWith('.overall_export_metadata'));
  if (metadata === undefined) throw new Error(`the Firestore emulator wrote no export metadata under ${dir}`);
  return `${dir}/${metadata}`;
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
