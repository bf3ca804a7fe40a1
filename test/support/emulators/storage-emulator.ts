import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { stopChild, waitUntilServing } from './firestore-emulator.js';
import { freePort } from '../free-port.js';

/**
 * firebase-tools' Cloud Storage emulator (Node code) started from code, because
 * `firebase emulators:start` refuses to run here (it wants Java 21 and downloads a rules jar).
 * `lib/emulator/storage` and `lib/emulator/registry` are internal modules without types:
 * this works with firebase-tools 15.34.2, which package.json pins exactly. Check this file
 * when bumping it.
 */
const STORAGE_MODULE = 'firebase-tools/lib/emulator/storage';
const REGISTRY_MODULE = 'firebase-tools/lib/emulator/registry';

/** The part of firebase-tools' StorageEmulator used here. */
interface FirebaseStorageEmulator {
  _rulesRuntime: { start(): Promise<void>; stop(): Promise<void> };
  _rulesManager: { start(): Promise<void>; stop(): Promise<void> };
  stop(): Promise<void>;
}

interface FirebaseStorageModules {
  StorageEmulator: new (args: {
    projectId: string;
    host: string;
    port: number;
    rules: { name: string; content: string };
    auto_download: boolean;
  }) => FirebaseStorageEmulator;
  EmulatorRegistry: { start(emulator: FirebaseStorageEmulator): Promise<void> };
}

/** A storage emulator running as a child process. */
export interface RunningStorageEmulator {
  /** `http://127.0.0.1:port`, as `STORAGE_EMULATOR_HOST` and the client's `apiEndpoint` take it. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);
const thisFile = fileURLToPath(import.meta.url);

function missing(what: string, cause: unknown): Error {
  return new Error(
    `${what} is not installed, so the Cloud Storage emulator cannot start: run \`npm install\` ` +
      '(firebase-tools 15.34.2 and tsx are devDependencies). The GCS adapter is tested against it and never skipped.',
    { cause },
  );
}

/** Loads firebase-tools' internals, failing loudly with what to install when they are absent. */
function loadFirebaseStorage(): FirebaseStorageModules {
  try {
    const { StorageEmulator } = require(STORAGE_MODULE) as Pick<FirebaseStorageModules, 'StorageEmulator'>;
    const { EmulatorRegistry } = require(REGISTRY_MODULE) as Pick<FirebaseStorageModules, 'EmulatorRegistry'>;
    return { StorageEmulator, EmulatorRegistry };
  } catch (err) {
    throw missing(`firebase-tools (${STORAGE_MODULE})`, err);
  }
}

/**
 * Starts the storage emulator as a child process (`tsx` running this file), ready when it
 * resolves. A child rather than the calling process because firebase-tools' registry holds
 * one storage emulator per process, and the child's own temp directory keeps its blobs
 * apart from any other emulator's (firebase-tools puts them in a fixed `$TMPDIR` path and
 * deletes that path on stop). The child exits when its parent does. In memory: a restart
 * starts empty. Buckets appear on first use.
 */
export async function startStorageEmulator(port?: number): Promise<RunningStorageEmulator> {
  // Resolved, not loaded: the child loads firebase-tools, and this says what is missing first.
  try {
    require.resolve(STORAGE_MODULE);
  } catch (err) {
    throw missing(`firebase-tools (${STORAGE_MODULE})`, err);
  }
  let tsxLoader: string;
  try {
    tsxLoader = pathToFileURL(require.resolve('tsx')).href;
  } catch (err) {
    throw missing('tsx', err);
  }
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', tsxLoader, thisFile, '--port', String(chosen)], {
    // The IPC channel tells the child when its parent is gone.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const url = `http://127.0.0.1:${chosen}`;
  await waitUntilServing(child, `${url}/`, 'Cloud Storage emulator (firebase-tools)');
  return { url, port: chosen, stop: () => stopChild(child) };
}

/** Runs the emulator in this process until SIGINT/SIGTERM or, if started with IPC, the parent's exit. */
async function runInThisProcess(port: number): Promise<void> {
  const { StorageEmulator, EmulatorRegistry } = loadFirebaseStorage();
  // Read by firebase-tools when it is constructed (`$TMPDIR/firebase/storage/blobs`).
  const ownTmp = mkdtempSync(join(tmpdir(), 'omtx-storage-emulator-'));
  process.env.TMPDIR = ownTmp;
  const emulator = new StorageEmulator({
    projectId: 'omtx-test',
    host: '127.0.0.1',
    port,
    rules: { name: '/dev/null', content: '' },
    auto_download: false,
  });
  // Security rules run in a Java runtime that firebase-tools downloads; the SDK talks to the
  // emulator as an admin (no rules apply to it), so the rules machinery is switched off.
  const noop = async () => {};
  emulator._rulesRuntime.start = noop;
  emulator._rulesRuntime.stop = noop;
  emulator._rulesManager.start = noop;
  emulator._rulesManager.stop = noop;
  await EmulatorRegistry.start(emulator);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    emulator
      .stop()
      .catch((err: unknown) => console.error('storage emulator: stop failed', err))
      .finally(() => {
        rmSync(ownTmp, { recursive: true, force: true });
        process.exit(0);
      });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  if (process.connected) process.once('disconnect', shutdown);
  console.log(`storage emulator ready at http://127.0.0.1:${port} (STORAGE_EMULATOR_HOST=http://127.0.0.1:${port})`);
}

// `tsx test/support/emulators/storage-emulator.ts --port 9199` (demos, the multi-instance test).
if (process.argv[1] !== undefined && resolve(process.argv[1]) === thisFile) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '9199' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) {
    console.error(`storage emulator: --port must be a TCP port, got ${JSON.stringify(values.port)}`);
    process.exit(2);
  }
  runInThisProcess(port).catch((err: unknown) => {
    console.error('storage emulator: failed to start', err);
    process.exit(1);
  });
}
