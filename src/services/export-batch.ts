import { affinityUnitOf, type ArtifactRef, type Batch, type Job } from '../domain/job.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { JobStore } from '../ports/job-store.js';

export type ExportFormat = 'CSV' | 'SDF' | 'JSON';

const FILES: Record<ExportFormat, { name: string; contentType: string }> = {
  CSV: { name: 'batch_results.csv', contentType: 'text/csv; charset=utf-8' },
  JSON: { name: 'batch_results.json', contentType: 'application/json' },
  SDF: { name: 'batch_top_poses.sdf', contentType: 'chemical/x-mdl-sdfile' },
};

/** Children are read in pages of this many, best affinity first. */
const READ_PAGE = 500;

interface Manifest {
  [format: string]: { version: number; artifact: ArtifactRef };
}

/**
 * Writes a batch's ranked results as one file under `batches/{id}/` and returns it. The file
 * is made on the first request and reused until the batch changes (its `updatedAt` is the
 * version, kept in `batches/{id}/exports.json`) or the file is deleted. Rank follows affinity, lowest first; jobs
 * without one are listed after the ranked ones with no rank. SDF holds the top pose of each
 * child whose runner wrote `poses.sdf`; null when no child has one.
 */
export async function exportBatch(
  deps: { jobs: JobStore; blobs: BlobStore },
  batch: Batch,
  format: ExportFormat,
): Promise<ArtifactRef | null> {
  const manifestKey = `batches/${batch.id}/exports.json`;
  const stored = await deps.blobs.get(manifestKey);
  const manifest: Manifest = stored ? (JSON.parse(stored.body.toString('utf8')) as Manifest) : {};
  const version = batch.updatedAt.getTime();
  const cached = manifest[format];
  // The file may be gone while its manifest entry stays: the bucket's lifecycle rule deletes
  // exports by age (deploy/terraform/storage.tf), and a later export rewrites the manifest.
  if (cached && cached.version === version && (await deps.blobs.stat(cached.artifact.key)) !== null) return cached.artifact;

  const rows = await rankedChildren(deps.jobs, batch.id);
  const body = format === 'CSV' ? toCsv(batch, rows) : format === 'JSON' ? toJson(batch, rows) : await toSdf(deps.blobs, rows);
  if (body === null) return null;
  const file = FILES[format];
  const key = `batches/${batch.id}/${file.name}`;
  const info = await deps.blobs.put(key, body, file.contentType);
  const artifact: ArtifactRef = { name: file.name, key, contentType: file.contentType, sizeBytes: info.sizeBytes };
  manifest[format] = { version, artifact };
  await deps.blobs.put(manifestKey, JSON.stringify(manifest), 'application/json');
  return artifact;
}

interface Ranked {
  rank: number | null;
  job: Job;
}

async function rankedChildren(jobs: JobStore, batchId: string): Promise<Ranked[]> {
  const out: Ranked[] = [];
  let after: string | null = null;
  let rank = 0;
  for (;;) {
    const page = await jobs.listBatchJobs(batchId, {}, { field: 'AFFINITY', direction: 'ASC' }, { first: READ_PAGE, after });
    for (const { node } of page.edges) out.push({ rank: node.result?.affinity ? ++rank : null, job: node });
    if (!page.hasNextPage) return out;
    after = page.edges[page.edges.length - 1]!.cursor;
  }
}

function unitOf(batch: Batch): string {
  return affinityUnitOf(batch.model);
}

function toCsv(batch: Batch, rows: Ranked[]): string {
  const header = [
    'rank',
    'index',
    'name',
    'input_smiles',
    'canonical_smiles',
    'affinity',
    'unit',
    'confidence',
    'status',
    'error',
  ];
  const lines = [header.join(',')];
  for (const { rank, job } of rows) {
    lines.push(
      [
        rank ?? '',
        job.batchIndex ?? '',
        job.name ?? '',
        job.ligand.smiles,
        job.ligand.canonicalSmiles,
        job.result?.affinity?.value ?? '',
        job.result?.affinity ? unitOf(batch) : '',
        job.result?.confidence?.score ?? '',
        job.status,
        job.error?.message ?? '',
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}

/** RFC 4180: quote a field holding a comma, quote or line break; double inner quotes. */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toJson(batch: Batch, rows: Ranked[]): string {
  return JSON.stringify({
    batch: { id: batch.id, name: batch.name, model: batch.model, status: batch.status, unit: unitOf(batch) },
    results: rows.map(({ rank, job }) => ({
      rank,
      index: job.batchIndex,
      jobId: job.id,
      name: job.name,
      smiles: job.ligand.smiles,
      canonicalSmiles: job.ligand.canonicalSmiles,
      status: job.status,
      affinity: job.result?.affinity ?? null,
      confidence: job.result?.confidence ?? null,
      error: job.error,
    })),
  });
}

async function toSdf(blobs: BlobStore, rows: Ranked[]): Promise<string | null> {
  const records: string[] = [];
  for (const { rank, job } of rows) {
    const poses = job.result?.artifacts.find((a) => a.name === 'poses.sdf');
    if (!poses || rank === null) continue;
    const blob = await blobs.get(poses.key);
    if (!blob) continue;
    // The top pose is the first record: keep its molblock (to `M  END`), write our own fields.
    const first = blob.body
      .toString('utf8')
      .split('$$$$')[0]!
      .replace(/^\s*\n/, '');
    const end = first.indexOf('M  END');
    if (end < 0) continue;
    const lines = first.slice(0, end).split('\n');
    lines[0] = job.name ?? job.ligand.canonicalSmiles;
    const fields = {
      rank,
      name: job.name ?? '',
      affinity_kcal_per_mol: job.result!.affinity!.value,
      canonical_smiles: job.ligand.canonicalSmiles,
      batch_index: job.batchIndex,
    };
    const data = Object.entries(fields)
      .map(([k, v]) => `> <${k}>\n${v ?? ''}\n`)
      .join('\n');
    records.push(`${lines.join('\n')}M  END\n${data}\n$$$$`);
  }
  return records.length === 0 ? null : records.join('\n') + '\n';
}
