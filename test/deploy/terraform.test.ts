import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { apiEnvSchema, ConfigError, loadConfig } from '../../src/config.js';
import { loadWorkerConfig, workerEnvSchema } from '../../gpu-worker/src/worker-config.js';
import {
  child,
  containerOf,
  evaluate,
  loadTerraform,
  parseTerraformFiles,
  PLACEHOLDERS,
  resource,
  ROOT,
  serviceEnv,
  strings,
  terraformFilePaths,
  type Block,
  type Terraform,
} from './terraform-config.js';
import { queueSettings } from '../support/emulators/cloud-tasks/deploy-queue-settings.js';

/**
 * No Google endpoint is reachable here, so `terraform plan` never runs: this parses every
 * Terraform file under deploy/ and checks it against the code that will run in it.
 */

const tf: Terraform = await loadTerraform();
const api = resource(tf, 'google_cloud_run_v2_service.api');
const worker = resource(tf, 'google_cloud_run_v2_service.worker');
const envOf = (service: Block) => Object.fromEntries(serviceEnv(tf, service).map((e) => [e.name, e.value]));
/** Variables Cloud Run sets itself. */
const CLOUD_RUN_RESERVED = ['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION'];
/** Cloud Tasks' limits (cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues). */
const CLOUD_TASKS_MAX_DISPATCHES_PER_SECOND = 500;
const CLOUD_TASKS_MAX_DISPATCH_DEADLINE_SECONDS = 1_800;

describe('the Terraform files', () => {
  it('parses every .tf file under deploy/', () => {
    expect(Object.keys(tf.files).sort()).toEqual(terraformFilePaths().sort());
    expect(Object.keys(tf.files).length).toBeGreaterThan(5);
  });

  it('fails a file that does not parse with its name', async () => {
    await expect(
      parseTerraformFiles([
        { path: 'deploy/terraform/fine.tf', contents: 'locals {\n  a = 1\n}\n' },
        { path: 'deploy/terraform/broken.tf', contents: 'resource "x" "y" {\n' },
      ]),
    ).rejects.toThrow(/deploy\/terraform\/broken\.tf:.*(Unclosed|brace)/s);
  });

  it('declares every var.X and local.X it uses, and uses every variable it declares', () => {
    const text = Object.values(tf.files).flatMap(strings).join('\n');
    const used = new Set([...text.matchAll(/\bvar\.(\w+)/g)].map((m) => m[1]!));
    expect(
      [...used].filter((v) => !(v in tf.variables)),
      'used, not declared',
    ).toEqual([]);
    expect(
      Object.keys(tf.variables).filter((v) => !used.has(v)),
      'declared, never used',
    ).toEqual([]);
    const locals = new Set([...text.matchAll(/\blocal\.(\w+)/g)].map((m) => m[1]!));
    expect(
      [...locals].filter((l) => !(l in tf.locals)),
      'locals used, not declared',
    ).toEqual([]);
  });

  it('has an example.tfvars that sets every variable without a default, and only declared ones', () => {
    const required = Object.entries(tf.variables)
      .filter(([, v]) => !('default' in v))
      .map(([name]) => name);
    expect(required.filter((name) => !(name in tf.tfvars))).toEqual([]);
    expect(Object.keys(tf.tfvars).filter((name) => !(name in tf.variables))).toEqual([]);
  });

  it('pins the google provider to the 6.x line', () => {
    const versions = child(tf.files['deploy/terraform/versions.tf']!, 'terraform');
    const google = (child(versions, 'required_providers') as Record<string, { source: string; version: string }>).google!;
    expect(google.source).toBe('hashicorp/google');
    expect(google.version).toMatch(/^~> 6\.\d+$/);
  });
});

describe('the environment of the Cloud Run services', () => {
  const apiVariables = new Set(Object.keys(apiEnvSchema.shape));
  const workerVariables = new Set(Object.keys(workerEnvSchema.shape));

  it('lists every variable statically (no dynamic env block, which the checks below could not see)', () => {
    for (const service of [api, worker]) expect((containerOf(service).dynamic as Block | undefined)?.env).toBeUndefined();
  });

  it('sets on the api only variables of the api’s schema, and none Cloud Run sets itself', () => {
    const names = serviceEnv(tf, api).map((e) => e.name);
    expect(names.filter((name) => !apiVariables.has(name))).toEqual([]);
    expect(names.filter((name) => CLOUD_RUN_RESERVED.includes(name))).toEqual([]);
    expect(new Set(names).size, 'no variable set twice').toBe(names.length);
  });

  it('sets on the worker only variables of workerEnvSchema, and none Cloud Run sets itself', () => {
    const names = serviceEnv(tf, worker).map((e) => e.name);
    expect(names.filter((name) => !workerVariables.has(name))).toEqual([]);
    expect(names.filter((name) => CLOUD_RUN_RESERVED.includes(name))).toEqual([]);
    expect(new Set(names).size, 'no variable set twice').toBe(names.length);
  });

  it('starts the api on the gcp backend with exactly that environment, authentication required', () => {
    const env = envOf(api);
    expect(env.OMTX_BACKEND).toBe('gcp');
    const config = loadConfig(env);
    expect(config.gcp).not.toBeNull();
    expect(config.gcp!.tasks?.serviceAccountEmail).toMatch(/^omtx-tasks-invoker@/);
    expect(config.auth.required).toBe(true);
    expect(config.auth.jwt).not.toBeNull();
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(containerPort(api));
    expect(config.workerUrl).toBe(PLACEHOLDERS['google_cloud_run_v2_service.worker.uri']);
    expect(config.limits.redisUrl).toMatch(/^redis:\/\/10\.20\.30\.4:6379$/);
    expect(config.posture.corsOrigins).toEqual(tf.tfvars.frontend_origins);
    expect(config.posture.metrics.access).toBe('token');
  });

  it('starts the worker on the gcp backend with exactly that environment', () => {
    const env = envOf(worker);
    const config = loadWorkerConfig(env);
    expect(config.gcp).toEqual(expect.objectContaining({ projectId: tf.tfvars.project, tasks: null }));
    expect(config.host).toBe('0.0.0.0');
    expect(config.port).toBe(containerPort(worker));
  });

  it('sets every variable the gcp backend requires (without them the configuration refuses to start)', () => {
    // The same loaders refuse a gcp backend without its settings, so the checks above mean something.
    expect(() => loadWorkerConfig({ OMTX_BACKEND: 'gcp' })).toThrow(ConfigError);
    const { OMTX_TASKS_QUEUE: _queue, ...withoutQueue } = envOf(api);
    expect(() => loadConfig(withoutQueue)).toThrow(/OMTX_TASKS_QUEUE/);
  });

  it('tells the api and the worker the same bucket, database, project, instance shape and shard limit', () => {
    const a = envOf(api);
    const w = envOf(worker);
    for (const name of [
      'OMTX_GCP_PROJECT',
      'OMTX_FIRESTORE_DATABASE',
      'OMTX_GCS_BUCKET',
      'OMTX_BOLTZ_SHARD_TIME_LIMIT_SECONDS',
    ]) {
      expect(a[name], name).toBe(w[name]);
    }
    expect(loadConfig(a).cost.boltzInstance).toEqual(loadWorkerConfig(w).instance);
  });

  it('takes the api’s secrets from Secret Manager, each one Terraform creates and lets the api read', () => {
    const fromSecrets = serviceEnv(tf, api).filter((e) => e.secret !== null);
    expect(fromSecrets.map((e) => e.name).sort()).toEqual(Object.keys(tf.locals.api_secrets as object).sort());
    const secrets = tf.locals.api_secrets as Record<string, string>;
    for (const e of fromSecrets) expect(e.secret, e.name).toBe(secrets[e.name]);
    // No secret as a literal value anywhere.
    expect(serviceEnv(tf, api).filter((e) => /SECRET|TOKEN|PASSWORD|API_KEY$/.test(e.name) && e.secret === null)).toEqual([]);
    expect(resource(tf, 'google_secret_manager_secret_iam_member.api_reads').for_each).toBe('${local.api_secrets}');
  });
});

describe('the Cloud Run services', () => {
  it('runs the worker on one L4, 4 vCPU / 16 GiB, CPU always allocated, without zonal redundancy', () => {
    const template = child(worker, 'template');
    expect(child(template, 'node_selector').accelerator).toBe('nvidia-l4');
    expect(template.gpu_zonal_redundancy_disabled).toBe(true);
    const resources = child(containerOf(worker), 'resources');
    const limits = resources.limits as Record<string, unknown>;
    expect([limits.cpu, limits.memory, limits['nvidia.com/gpu']].map((v) => evaluate(tf, v))).toEqual(['4', '16Gi', '1']);
    expect(resources.cpu_idle).toBe(false);
  });

  it('keeps the api warm, reaching Redis through the VPC', () => {
    const template = child(api, 'template');
    expect(evaluate(tf, child(template, 'scaling').min_instance_count)).toBe('1');
    const vpc = child(template, 'vpc_access');
    expect(child(vpc, 'network_interfaces').subnetwork).toBe('${google_compute_subnetwork.run.name}');
    expect(resource(tf, 'google_redis_instance.rate_limits').tier).toBe('BASIC');
    expect(resource(tf, 'google_redis_instance.rate_limits').authorized_network).toBe('${google_compute_network.vpc.id}');
  });
});

describe('the Cloud Tasks queue', () => {
  const settings = queueSettings();
  const queue = resource(tf, 'google_cloud_tasks_queue.gpu');

  it('takes every setting from deploy/terraform/queue-settings.json', () => {
    expect(tf.locals.queue).toBe('${jsondecode(file("${path.module}/queue-settings.json"))}');
    expect(queue.name).toBe('${local.queue.name}');
    expect(child(queue, 'rate_limits')).toEqual({
      max_dispatches_per_second: '${local.queue.maxDispatchesPerSecond}',
      max_concurrent_dispatches: '${local.queue.maxConcurrentDispatches}',
    });
    expect(child(queue, 'retry_config')).toEqual({
      max_attempts: '${local.queue.maxAttempts}',
      min_backoff: '${local.queue.minBackoffSeconds}s',
      max_backoff: '${local.queue.maxBackoffSeconds}s',
      max_doublings: '${local.queue.maxDoublings}',
    });
  });

  it('holds settings Cloud Tasks accepts', () => {
    expect(settings.name).toMatch(/^[A-Za-z0-9-]{1,100}$/);
    expect(settings.maxDispatchesPerSecond).toBeGreaterThan(0);
    expect(settings.maxDispatchesPerSecond).toBeLessThanOrEqual(CLOUD_TASKS_MAX_DISPATCHES_PER_SECOND);
    expect(Number.isInteger(settings.maxConcurrentDispatches) && settings.maxConcurrentDispatches >= 1).toBe(true);
    expect(settings.maxAttempts).toBeGreaterThanOrEqual(1);
    expect(settings.minBackoffSeconds).toBeLessThanOrEqual(settings.maxBackoffSeconds);
    expect(settings.maxDoublings).toBeGreaterThanOrEqual(0);
    expect(settings.dispatchDeadlineSeconds).toBeGreaterThanOrEqual(15);
    expect(settings.dispatchDeadlineSeconds).toBeLessThanOrEqual(CLOUD_TASKS_MAX_DISPATCH_DEADLINE_SECONDS);
  });

  it('agrees with the api and the worker: queue, deadline, attempts, one task per GPU', () => {
    const config = loadConfig(envOf(api));
    expect(config.gcp!.tasks).toEqual(
      expect.objectContaining({ queue: settings.name, dispatchDeadlineSeconds: settings.dispatchDeadlineSeconds }),
    );
    expect(config.taskMaxAttempts).toBe(settings.maxAttempts);
    const template = child(worker, 'template');
    // The worker answers a task for as long as Cloud Tasks waits for it.
    expect(evaluate(tf, template.timeout)).toBe(`${settings.dispatchDeadlineSeconds}s`);
    // In flight at most as many tasks as the worker can run: instances × requests per instance.
    const perInstance = Number(evaluate(tf, template.max_instance_request_concurrency));
    expect(perInstance).toBe(loadWorkerConfig(envOf(worker)).concurrency);
    expect(Number(evaluate(tf, child(template, 'scaling').max_instance_count)) * perInstance).toBe(
      settings.maxConcurrentDispatches,
    );
  });
});

describe('the Firestore indexes', () => {
  const path = join(ROOT, 'deploy/firestore.indexes.json');

  it('come from deploy/firestore.indexes.json, not from a copy', () => {
    expect(tf.locals.firestore).toBe('${jsondecode(file("${path.module}/../firestore.indexes.json"))}');
    expect(Object.keys(tf.resources.google_firestore_index ?? {})).toEqual(['composite']);
    const index = resource(tf, 'google_firestore_index.composite');
    expect(index.for_each).toBe('${local.firestore_indexes}');
    expect(index.collection).toBe('${each.value.collectionGroup}');
    expect((index.dynamic as Record<string, Block[]>).fields?.[0]?.for_each).toBe('${each.value.fields}');
    expect(Object.keys(tf.resources.google_firestore_field ?? {})).toEqual(['override']);
    expect(resource(tf, 'google_firestore_field.override').for_each).toBe('${local.firestore_field_overrides}');
  });

  it('reads a file of the shape the HCL expects, with one key per index', () => {
    expect(existsSync(path), 'deploy/firestore.indexes.json exists (written from the Firestore adapter’s queries)').toBe(true);
    const file = JSON.parse(readFileSync(path, 'utf8')) as {
      indexes: {
        collectionGroup: string;
        queryScope?: string;
        fields: { fieldPath: string; order?: string; arrayConfig?: string }[];
      }[];
      fieldOverrides?: { collectionGroup: string; fieldPath: string }[];
    };
    expect(file.indexes.length).toBeGreaterThan(0);
    // The key local.firestore_indexes gives each index: a duplicate would fail the plan.
    const keys = file.indexes.map((index) => {
      expect(['COLLECTION', 'COLLECTION_GROUP', undefined]).toContain(index.queryScope);
      for (const f of index.fields) expect(f.order ?? f.arrayConfig, `${index.collectionGroup}.${f.fieldPath}`).toBeDefined();
      return [
        index.collectionGroup,
        index.queryScope ?? 'COLLECTION',
        ...index.fields.map((f) => `${f.fieldPath}:${f.order ?? f.arrayConfig}`),
      ].join(' ');
    });
    expect(new Set(keys).size).toBe(keys.length);
    const overrides = (file.fieldOverrides ?? []).map((o) => `${o.collectionGroup}.${o.fieldPath}`);
    expect(new Set(overrides).size).toBe(overrides.length);
  });
});

describe('least privilege', () => {
  /** Every IAM grant as `who role on what`, for_each expanded to the things it names. */
  function grants(): string[] {
    const name = (expr: string) =>
      expr === 'allUsers' ? 'allUsers' : (/^\$\{google_service_account\.(\w+)\.(?:member|name)\}$/.exec(expr)?.[1] ?? expr);
    const target = (expr: string) =>
      /^\$\{var\.project\}$/.test(expr)
        ? 'project'
        : (/^\$\{(google_\w+\.\w+)(?:\[[^\]]+\])?\.\w+\}$/.exec(expr)?.[1]?.replace('google_service_account.', 'sa:') ??
          /^\$\{(var\.\w+)\}$/.exec(expr)?.[1] ??
          expr);
    return Object.values(tf.resources)
      .flatMap((named) => Object.values(named))
      .filter((block) => typeof block.role === 'string' && (block.member ?? block.members) !== undefined)
      .flatMap((block) => {
        const on = String(
          block.bucket ?? block.service_account_id ?? block.secret_id ?? block.repository ?? block.project ?? block.name,
        );
        const targets =
          on === '${each.value}' ? Object.values(block.for_each as Record<string, string>).map(target) : [target(on)];
        const members = (block.members as string[] | undefined) ?? [String(block.member)];
        return members.flatMap((m) => targets.map((t) => `${name(m)} ${String(block.role)} on ${t}`));
      })
      .sort();
  }

  it('grants each account only what its code calls, and the public only the api', () => {
    expect(grants()).toEqual(
      [
        'api roles/datastore.user on project',
        'api roles/storage.objectAdmin on google_storage_bucket.artifacts',
        'api roles/cloudtasks.enqueuer on google_cloud_tasks_queue.gpu',
        'api roles/cloudtasks.viewer on google_cloud_tasks_queue.gpu',
        'api roles/iam.serviceAccountTokenCreator on sa:api',
        'api roles/iam.serviceAccountUser on sa:tasks_invoker',
        'api roles/secretmanager.secretAccessor on google_secret_manager_secret.api',
        'worker roles/datastore.user on project',
        'worker roles/storage.objectAdmin on google_storage_bucket.artifacts',
        'worker roles/storage.objectViewer on var.worker_weights_bucket',
        'tasks_invoker roles/run.invoker on google_cloud_run_v2_service.worker',
        'allUsers roles/run.invoker on google_cloud_run_v2_service.api',
        'deployer roles/artifactregistry.writer on google_artifact_registry_repository.images',
        'deployer roles/run.developer on google_cloud_run_v2_service.api',
        'deployer roles/run.developer on google_cloud_run_v2_service.worker',
        'deployer roles/iam.serviceAccountUser on sa:api',
        'deployer roles/iam.serviceAccountUser on sa:worker',
        'deployer roles/logging.logWriter on project',
      ].sort(),
    );
    // run.invoker on the worker is authoritative (a binding, not a member): nobody else keeps it.
    expect(Object.keys(tf.resources.google_cloud_run_v2_service_iam_binding ?? {})).toEqual(['worker_invokers']);
  });

  it('keeps the worker IAM-checked and runs each service as its own account', () => {
    expect(worker.invoker_iam_disabled).toBeUndefined();
    expect(child(worker, 'template').service_account).toBe('${google_service_account.worker.email}');
    expect(child(api, 'template').service_account).toBe('${google_service_account.api.email}');
  });
});

describe('deploy/cloudbuild.yaml', () => {
  const build = parseYaml(readFileSync(join(ROOT, 'deploy/cloudbuild.yaml'), 'utf8')) as {
    steps: { id: string; args: string[] }[];
    images: string[];
    serviceAccount: string;
  };
  const registry = '${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}';
  const args = build.steps.flatMap((s) => s.args).join(' ');

  it('builds both Dockerfiles from the repository root into the Terraform registry', () => {
    expect(build.images.sort()).toEqual([`${registry}/api:\${_TAG}`, `${registry}/gpu-worker:\${_TAG}`]);
    for (const dockerfile of ['Dockerfile', 'gpu-worker/Dockerfile']) {
      expect(existsSync(join(ROOT, dockerfile))).toBe(true);
      const step = build.steps.find((s) => s.args.includes(`--file=${dockerfile}`));
      expect(step?.args.at(-1), `${dockerfile} is built from the repository root`).toBe('.');
    }
    expect(
      (parseYaml(readFileSync(join(ROOT, 'deploy/cloudbuild.yaml'), 'utf8')) as { substitutions: Record<string, string> })
        .substitutions._REPOSITORY,
    ).toBe(resource(tf, 'google_artifact_registry_repository.images').repository_id);
  });

  it('rolls the services Terraform creates, as the deployer account', () => {
    for (const service of [api, worker]) expect(args).toContain(`gcloud run services update ${String(service.name)} `);
    expect(build.serviceAccount).toBe(
      `projects/\${PROJECT_ID}/serviceAccounts/${String(resource(tf, 'google_service_account.deployer').account_id)}@\${PROJECT_ID}.iam.gserviceaccount.com`,
    );
  });
});

function containerPort(service: Block): number {
  return Number(evaluate(tf, child(containerOf(service), 'ports').container_port));
}
