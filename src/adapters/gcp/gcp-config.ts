import { z } from 'zod';
import { ConfigError } from '../../env-settings.js';

/**
 * Which adapters a process opens: `local` (SQLite + files in the data directory, the
 * embedded default) or `gcp` (Firestore, Cloud Storage, Cloud Tasks). Nothing above the
 * ports differs between them. Spread into the api's and the worker's configuration schemas.
 */
export const backendEnv = {
  OMTX_BACKEND: z.enum(['local', 'gcp']).default('local'),
};

/**
 * The Google Cloud settings both the api and the worker read (`OMTX_BACKEND=gcp`). The SDKs
 * also honour their own emulator variables, `FIRESTORE_EMULATOR_HOST` and
 * `STORAGE_EMULATOR_HOST`; Cloud Tasks has no emulator, so `OMTX_TASKS_EMULATOR_HOST` points
 * the client at a plaintext gRPC server instead (the tests' fake).
 */
export const gcpEnv = {
  /** The project that holds the database, the bucket and the queue. */
  OMTX_GCP_PROJECT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a Google Cloud project id')
    .optional(),
  OMTX_FIRESTORE_DATABASE: z.string().min(1).default('(default)'),
  /** Artifacts, exports and MSAs (DESIGN.md's bucket layout). */
  OMTX_GCS_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a Cloud Storage bucket name')
    .optional(),
  /**
   * A service-account key file (JSON) that signs V4 URLs locally. Unset: the runtime's service
   * account signs through the IAM signBlob API (it needs roles/iam.serviceAccountTokenCreator
   * on itself), so no key exists anywhere.
   */
  OMTX_GCS_SIGNING_KEY_FILE: z.string().min(1).optional(),
  OMTX_TASKS_LOCATION: z
    .string()
    .regex(/^[a-z]+-[a-z]+\d+$/, 'must be a Cloud Tasks location such as europe-west4')
    .optional(),
  OMTX_TASKS_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,100}$/, 'must be a Cloud Tasks queue id')
    .optional(),
  /** The service account whose OIDC token Cloud Tasks attaches to each POST to the worker. */
  OMTX_TASKS_SERVICE_ACCOUNT: z.email().optional(),
  /** The OIDC token's audience; the worker's URL when unset (what Cloud Run checks). */
  OMTX_TASKS_AUDIENCE: z.url().optional(),
  /** How long Cloud Tasks waits for the worker's answer: 15 s – 30 min. @default 1800 // seconds */
  OMTX_TASKS_DISPATCH_DEADLINE_SECONDS: z.coerce.number().int().min(15).max(1800).default(1800),
  /** `host:port` of a plaintext Cloud Tasks gRPC server (tests); unset: Google's endpoint. */
  OMTX_TASKS_EMULATOR_HOST: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .optional(),
};

type GcpEnv = z.infer<z.ZodObject<typeof gcpEnv & typeof backendEnv>>;

export interface TasksConfig {
  location: string;
  queue: string;
  /** Null only against the emulator, which checks no token. */
  serviceAccountEmail: string | null;
  audience: string | null;
  dispatchDeadlineSeconds: number;
  emulatorHost: string | null;
}

export interface GcpConfig {
  projectId: string;
  databaseId: string;
  bucket: string;
  signingKeyFile: string | null;
  /** Null in the worker, which enqueues nothing. */
  tasks: TasksConfig | null;
}

/**
 * The Google Cloud settings when `OMTX_BACKEND=gcp`, null otherwise. A missing required
 * variable throws ConfigError naming every one of them.
 */
export function gcpConfigFrom(c: GcpEnv, role: 'api' | 'worker'): GcpConfig | null {
  if (c.OMTX_BACKEND !== 'gcp') return null;
  const required: [string, unknown][] = [
    ['OMTX_GCP_PROJECT', c.OMTX_GCP_PROJECT],
    ['OMTX_GCS_BUCKET', c.OMTX_GCS_BUCKET],
  ];
  if (role === 'api') {
    required.push(['OMTX_TASKS_LOCATION', c.OMTX_TASKS_LOCATION], ['OMTX_TASKS_QUEUE', c.OMTX_TASKS_QUEUE]);
    if (c.OMTX_TASKS_EMULATOR_HOST === undefined) required.push(['OMTX_TASKS_SERVICE_ACCOUNT', c.OMTX_TASKS_SERVICE_ACCOUNT]);
  }
  const missing = required.filter(([, value]) => value === undefined).map(([name]) => name);
  if (missing.length > 0) {
    throw new ConfigError(
      `invalid configuration:\n${missing.map((name) => `  ${name} is required when OMTX_BACKEND=gcp`).join('\n')}`,
    );
  }
  return {
    projectId: c.OMTX_GCP_PROJECT!,
    databaseId: c.OMTX_FIRESTORE_DATABASE,
    bucket: c.OMTX_GCS_BUCKET!,
    signingKeyFile: c.OMTX_GCS_SIGNING_KEY_FILE ?? null,
    tasks:
      role === 'api'
        ? {
            location: c.OMTX_TASKS_LOCATION!,
            queue: c.OMTX_TASKS_QUEUE!,
            serviceAccountEmail: c.OMTX_TASKS_SERVICE_ACCOUNT ?? null,
            audience: c.OMTX_TASKS_AUDIENCE ?? null,
            dispatchDeadlineSeconds: c.OMTX_TASKS_DISPATCH_DEADLINE_SECONDS,
            emulatorHost: c.OMTX_TASKS_EMULATOR_HOST ?? null,
          }
        : null,
  };
}
