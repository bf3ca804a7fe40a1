import type { ModelName } from '../domain/job.js';

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

interface WorkerModels {
  models: { name: string; available: boolean; reason?: string | null }[];
}

/**
 * What this deployment can run. The worker knows (its runners check their tools), so the
 * catalog asks its `GET /models` and keeps the answer for `cacheMs`; without a worker, or
 * when it does not answer, every model says why it cannot run.
 */
export class ModelCatalog {
  private cached: { at: number; models: ModelInfo[] } | null = null;

  constructor(
    private readonly workerUrl: string | null,
    private readonly cacheMs = 30_000,
  ) {}

  async list(): Promise<ModelInfo[]> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.models;
    const models = await this.ask();
    this.cached = { at: Date.now(), models };
    return models;
  }

  private async ask(): Promise<ModelInfo[]> {
    if (this.workerUrl === null) {
      return KNOWN.map((m) => ({ ...m, available: false, unavailableReason: 'no worker is configured (OMTX_WORKER_URL)' }));
    }
    const url = new URL('models', this.workerUrl.endsWith('/') ? this.workerUrl : `${this.workerUrl}/`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = (await response.json()) as WorkerModels;
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
      const reason = `the worker at ${url.origin} did not answer (${(error as Error).message})`;
      return KNOWN.map((m) => ({ ...m, available: false, unavailableReason: reason }));
    }
  }
}
