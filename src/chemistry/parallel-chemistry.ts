import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Chemistry, ParsedMolecule } from '../domain/chemistry.js';

/** SMILES per message: large enough to amortize a round trip, small enough to balance threads. */
const CHUNK = 500;
/** Below this many distinct SMILES, starting threads (~0.3 s each to compile RDKit) costs more than it saves. */
const MIN_PARALLEL = 5_000;

/**
 * Parses many SMILES on worker threads and returns a `Chemistry` that answers from those
 * results, falling back to `chem` for anything else. Validation stays synchronous and pure;
 * the caller does `validateBatch(await parseSmilesInParallel(chem, smiles), draft)`.
 *
 * Why: RDKit MinimalLib takes ~200 µs per drug-like SMILES on one thread (parse ~120 µs,
 * canonical SMILES ~40 µs, rotatable bonds ~40 µs), ~21 s for 100,000 ligands. WebAssembly
 * runs on one thread per instance, so the only way to use more cores is more instances.
 */
export async function parseSmilesInParallel(
  chem: Chemistry,
  smiles: readonly string[],
  { workers: workerCount = availableParallelism() }: { workers?: number } = {},
): Promise<Chemistry> {
  const distinct = [...new Set(smiles)];
  if (workerCount < 1 || distinct.length < MIN_PARALLEL) return chem;

  const chunks: string[][] = [];
  for (let at = 0; at < distinct.length; at += CHUNK) chunks.push(distinct.slice(at, at + CHUNK));
  const parsed = new Map<string, ParsedMolecule | null>();
  // This thread parses too, beside one worker per core: measured on 2 cores, 40,000 SMILES
  // took 4.7 s this way against 5.6 s with one worker (the request thread is often idle).
  const workers = Array.from({ length: Math.min(workerCount, chunks.length) }, takeWorker);
  const onThisThread = async () => {
    for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
      for (const s of chunk) parsed.set(s, chem.parseSmiles(s));
      // Let the workers' answers in between chunks.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  const onWorker = async (worker: WorkerHandle) => {
    await worker.ready;
    for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
      worker.post(chunk);
      const results = (await worker.next()) as (ParsedMolecule | null)[];
      chunk.forEach((s, i) => parsed.set(s, results[i] ?? null));
    }
  };
  const outcomes = await Promise.allSettled([onThisThread(), ...workers.map(onWorker)]);
  // A worker that failed is dropped; a healthy one waits, warm, for the next large batch.
  outcomes
    .slice(1)
    .forEach((outcome, i) => (outcome.status === 'fulfilled' ? idle.push(workers[i]!) : void workers[i]!.terminate()));
  const failed = outcomes.find((o) => o.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return {
    parseSmiles: (s) => (parsed.has(s) ? parsed.get(s)! : chem.parseSmiles(s)),
  };
}

/** Started workers not in use: compiling RDKit takes ~0.3 s a thread, so they are kept. */
const idle: WorkerHandle[] = [];

/**
 * Starts the workers ahead of the first large batch, so it does not wait for RDKit to
 * compile (the api calls this at start; they idle without keeping the process alive).
 */
export function warmRdkitWorkers(count = availableParallelism()): void {
  while (idle.length < count) idle.push(startWorker());
}

function takeWorker(): WorkerHandle {
  return idle.pop() ?? startWorker();
}

interface WorkerHandle {
  /** Resolves once the thread has loaded RDKit. */
  ready: Promise<unknown>;
  post(message: unknown): void;
  next(): Promise<unknown>;
  terminate(): Promise<number>;
}

/**
 * Compiled, the worker is the `.js` beside this file. Under vitest or tsx this file is the
 * `.ts` source, and the worker first registers tsx's loader so it can import TypeScript
 * (a worker's `execArgv: ['--import', 'tsx']` is ignored on Node 20).
 */
function startWorker(): WorkerHandle {
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
          `.then(({ register }) => { register(); return import(${JSON.stringify(new URL('./rdkit-worker.ts', import.meta.url).href)}); })`,
        { eval: true },
      )
    : new Worker(new URL('./rdkit-worker.js', import.meta.url));
  let pending: { resolve: (value: unknown) => void; reject: (error: unknown) => void } | null = null;
  let failure: unknown = null;
  // Idle workers must not keep the process alive.
  worker.unref();
  worker.on('message', (message: unknown) => pending?.resolve(message));
  worker.on('error', (error) => {
    failure = error;
    pending?.reject(error);
  });
  worker.on('exit', (code) => {
    failure ??= new Error(`RDKit worker exited with code ${code}`);
    pending?.reject(failure);
  });
  const handle: Omit<WorkerHandle, 'ready'> = {
    post: (message) => worker.postMessage(message),
    next: () =>
      failure !== null
        ? Promise.reject(failure)
        : new Promise((resolve, reject) => {
            pending = { resolve, reject };
          }),
    terminate: () => worker.terminate(),
  };
  const ready = handle.next();
  // A warm worker may die while idle; its use then fails and drops it, never an unhandled rejection.
  ready.catch(() => {});
  return { ...handle, ready };
}
