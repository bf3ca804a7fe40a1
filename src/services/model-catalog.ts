import type { ModelName } from '../domain/job.js';
import type { BlobStore } from '../ports/blob-store.js';
import { WORKER_MODELS_KEY } from '../domain/artifact-keys.js';

export interface ModelInfo {
  name: ModelName;
  description: string;
  accelerator: 'GPU' | 'CPU';
  needs: string[];
  available: boolean;
  unavailableReason: string | null;
}

const KNOWN: Omit<ModelInfo, 'available' | 'unavailableReason'>[] = [
  {
    name: 'BOLTZ2',
    description: 'Boltz-2: complex structure, confidence and binding affinity (log10 IC50 µM).',
    accelerator: 'GPU',
    needs: ['protein.sequence', 'ligand.smiles'],
  },
  {
    name: 'VINA',
    description: 'AutoDock Vina: docked poses and a score in kcal/mol.',
    accelerator: 'CPU',
    needs: ['protein.structure', 'protein.pocket', 'ligand.smiles or ligand.structure'],
  },
];

/** What the worker says about its runners (`GET /models`' body). */
export interface WorkerModels {
  models: { name: string; available: boolean; reason?: string | null }[];
}

/** Where the catalog learns what the worker can run. */
export interface WorkerModelsSource {
  /** Names the source in an unavailable model's reason. */
  readonly where: string;
  read(): Promise<WorkerModels>;
}

/** The worker's `GET /models`, on the embedded default (the worker is a local process). */
export function workerModelsOverHttp(workerUrl: string): WorkerModelsSource {
  const url = new URL('models', workerUrl.endsWith('/') ? workerUrl : `${workerUrl}/`);
  return {
    where: `the worker at ${url.origin}`,
    async read() {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return (await response.json()) as WorkerModels;
    },
  };
}

/**
 * The report the worker stores when it starts (`WORKER_MODELS_KEY`), on Google Cloud: asking
 * the L4 service itself would start an instance of it, at GPU prices, for a catalog read.
 */
export function workerModelsReport(blobs: BlobStore): WorkerModelsSource {
  return {
    where: `the worker's report (${WORKER_MODELS_KEY})`,
    async read() {
      const stored = await blobs.get(WORKER_MODELS_KEY);
      if (stored === null) throw new Error('no worker has started yet: it reports its models when it starts');
      return JSON.parse(stored.body.toString('utf8')) as WorkerModels;
    },
  };
}

/**
 * What this deployment can run. The worker knows (its runners check their tools), so the
 * catalog reads what it says and keeps the answer for `cacheMs`; without a worker, or when
 * it cannot be read, every model says why it cannot run.
 */
export class ModelCatalog {
  private cached: { at: number; models: ModelInfo[] } | null = null;

  constructor(
    private readonly source: WorkerModelsSource | null,
    private readonly cacheMs = 30_000,
  ) {}

  async list(): Promise<ModelInfo[]> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.models;
    const models = await this.ask();
    this.cached = { at: Date.now(), models };
    return models;
  }

  private async ask(): Promise<ModelInfo[]> {
    if (this.source === null) {
      return KNOWN.map((m) => ({ ...m, available: false, unavailableReason: 'no worker is configured (OMTX_WORKER_URL)' }));
    }
    try {
      const body = await this.source.read();
      return KNOWN.map((m) => {
        const reported = body.models.find((r) => r.name === m.name);
        if (!reported) return { ...m, available: false, unavailableReason: 'the worker has no runner for this model' };
        return {
          ...m,
          available: reported.available,
          unavailableReason: reported.available ? null : (reported.reason ?? 'unavailable'),
        };
      });
    } catch (error) {
      const reason = `${this.source.where} could not be read (${(error as Error).message})`;
      return KNOWN.map((m) => ({ ...m, available: false, unavailableReason: reason }));
    }
  }
}
