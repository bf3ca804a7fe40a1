import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { queueSettings } from '../support/emulators/cloud-tasks/deploy-queue-settings.js';

/**
 * deploy/terraform as data, for the deploy tests: every file parsed by HashiCorp's own HCL
 * parser (@cdktf/hcl2json, Go compiled to WebAssembly), and a small evaluator that gives an
 * attribute the value it would have with the example tfvars and placeholders for what only
 * Google knows after apply (URLs, addresses, emails).
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TERRAFORM_DIR = 'deploy/terraform';

/** A block as hcl2json gives it: attributes, nested blocks as arrays, expressions as `${…}` strings. */
export type Block = Record<string, unknown>;

export interface Terraform {
  /** Each .tf file's JSON, by path from the repository root. */
  files: Record<string, Block>;
  /** `resource[type][name]`: each resource's one block. */
  resources: Record<string, Record<string, Block>>;
  variables: Record<string, Block>;
  locals: Record<string, unknown>;
  /** example.tfvars: what a deploy sets. */
  tfvars: Record<string, unknown>;
}

/** Parses the given files; a file that does not parse fails the whole load, by its name. */
export async function parseTerraformFiles(files: { path: string; contents: string }[]): Promise<Record<string, Block>> {
  const parsed: Record<string, Block> = {};
  const failures: string[] = [];
  for (const { path, contents } of files) {
    try {
      parsed[path] = (await parse(path, contents)) as Block;
    } catch (error) {
      failures.push(`${path}: ${String(error)}`);
    }
  }
  if (failures.length > 0) throw new Error(`Terraform files that do not parse:\n${failures.join('\n')}`);
  return parsed;
}

/** Every .tf file under deploy/, recursively. */
export function terraformFilePaths(dir = join(ROOT, 'deploy')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === '.terraform' ? [] : terraformFilePaths(path);
    return entry.name.endsWith('.tf') ? [relative(ROOT, path)] : [];
  });
}

export async function loadTerraform(): Promise<Terraform> {
  const read = (path: string) => ({ path, contents: readFileSync(join(ROOT, path), 'utf8') });
  const files = await parseTerraformFiles(terraformFilePaths().map(read));
  const tf: Terraform = { files, resources: {}, variables: {}, locals: {}, tfvars: {} };
  for (const [path, file] of Object.entries(files)) {
    for (const [type, named] of Object.entries((file.resource ?? {}) as Record<string, Record<string, Block[]>>)) {
      for (const [name, [block]] of Object.entries(named)) {
        tf.resources[type] ??= {};
        if (tf.resources[type][name]) throw new Error(`${path}: ${type}.${name} is declared twice`);
        tf.resources[type][name] = block!;
      }
    }
    for (const [name, [block]] of Object.entries((file.variable ?? {}) as Record<string, Block[]>)) tf.variables[name] = block!;
    for (const locals of (file.locals ?? []) as Block[]) Object.assign(tf.locals, locals);
  }
  const [tfvars] = Object.values(await parseTerraformFiles([read(`${TERRAFORM_DIR}/example.tfvars`)]));
  tf.tfvars = tfvars!;
  return tf;
}

/** The one block `key` of `block` (hcl2json makes every nested block an array). */
export function child(block: Block, key: string): Block {
  const value = block[key];
  if (!Array.isArray(value) || value.length !== 1) throw new Error(`expected one ${key} block, found ${JSON.stringify(value)}`);
  return value[0] as Block;
}

/** Blocks `key` of `block`, none or several. */
export function children(block: Block, key: string): Block[] {
  return (block[key] as Block[] | undefined) ?? [];
}

export function resource(tf: Terraform, address: string): Block {
  const [type = '', name = ''] = address.split('.');
  const block = tf.resources[type]?.[name];
  if (!block) throw new Error(`no resource ${address} in ${TERRAFORM_DIR}`);
  return block;
}

/** Every `${…}` expression and literal string anywhere in a parsed value. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** What only Google knows after apply: the shape the code checks, not the real value. */
export const PLACEHOLDERS: Record<string, string> = {
  'data.google_project.this.number': '123456789012',
  'google_cloud_run_v2_service.worker.uri': 'https://omtx-gpu-worker-123456789012.us-central1.run.app',
  'google_redis_instance.rate_limits.host': '10.20.30.4',
  'google_redis_instance.rate_limits.port': '6379',
};

/** A Secret Manager value: long enough for every secret the api reads (HS256 wants 32+ characters). */
export const SECRET_PLACEHOLDER = 'placeholder-secret-value-of-48-characters-xxxxxx';

/**
 * The string an attribute would hold: `${…}` references replaced, recursively, by variables
 * (example.tfvars, else their defaults), locals (queue-settings.json for `local.queue`), other
 * resources' literal attributes and PLACEHOLDERS. An expression it cannot follow throws, naming it.
 */
export function evaluate(tf: Terraform, value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new Error(`not a string attribute: ${JSON.stringify(value)}`);
  return value.replace(/\$\{([^{}]+)\}/g, (_, expr: string) => String(reference(tf, expr.trim())));
}

function reference(tf: Terraform, expr: string): unknown {
  if (expr in PLACEHOLDERS) return PLACEHOLDERS[expr];
  let m: RegExpExecArray | null;
  if ((m = /^var\.(\w+)$/.exec(expr))) {
    if (!tf.variables[m[1]!]) throw new Error(`var.${m[1]} is not declared`);
    return tf.tfvars[m[1]!] ?? tf.variables[m[1]!]!.default ?? null;
  }
  if ((m = /^local\.queue\.(\w+)$/.exec(expr))) return (queueSettings() as unknown as Record<string, unknown>)[m[1]!];
  if ((m = /^local\.(\w+)$/.exec(expr))) {
    const local = tf.locals[m[1]!];
    return typeof local === 'string' ? evaluateExpression(tf, local) : local;
  }
  if ((m = /^join\("([^"]*)", (\S+)\)$/.exec(expr))) return (reference(tf, m[2]!) as string[]).join(m[1]);
  if ((m = /^coalesce\((\S+), (\S+)\)$/.exec(expr))) {
    const first = reference(tf, m[1]!);
    return first !== null && first !== '' ? first : reference(tf, m[2]!);
  }
  if ((m = /^google_service_account\.(\w+)\.email$/.exec(expr))) {
    const id = evaluate(tf, resource(tf, `google_service_account.${m[1]}`).account_id);
    return `${id}@${String(reference(tf, 'var.project'))}.iam.gserviceaccount.com`;
  }
  if ((m = /^(google_\w+)\.(\w+)(?:\["(\w+)"\])?\.(\w+)$/.exec(expr))) {
    // An attribute written in the configuration (a name, a location); of a for_each resource,
    // with each.key and each.value of the instance named.
    const block = resource(tf, `${m[1]}.${m[2]}`);
    const attribute = block[m[4]!];
    if (typeof attribute === 'string' || typeof attribute === 'number') {
      let text = String(attribute);
      if (m[3] !== undefined) {
        const forEach = reference(tf, /^\$\{(.+)\}$/.exec(String(block.for_each))![1]!) as Record<string, unknown>;
        text = text.replaceAll('${each.key}', m[3]).replaceAll('${each.value}', String(forEach[m[3]]));
      }
      return evaluateExpression(tf, text);
    }
  }
  throw new Error(`no value for \${${expr}}: add a placeholder to PLACEHOLDERS in test/deploy/terraform-config.ts`);
}

/** A local or attribute that is one whole expression (`${x}`) keeps its type; else it is a template. */
function evaluateExpression(tf: Terraform, text: string): unknown {
  const whole = /^\$\{([^{}]+)\}$/.exec(text);
  return whole ? reference(tf, whole[1]!.trim()) : evaluate(tf, text);
}

/** A Cloud Run v2 service's one container. */
export function containerOf(service: Block): Block {
  return child(child(service, 'template'), 'containers');
}

export interface EnvEntry {
  name: string;
  /** The value with placeholders, or SECRET_PLACEHOLDER for a Secret Manager reference. */
  value: string;
  /** The secret's id when the value comes from Secret Manager. */
  secret: string | null;
}

/** The variables Terraform sets on a service's container, evaluated. */
export function serviceEnv(tf: Terraform, service: Block): EnvEntry[] {
  return children(containerOf(service), 'env').map((env) => {
    const name = String(env.name);
    const source = children(env, 'value_source')[0];
    if (source) {
      const secret = String(reference(tf, /^\$\{(.+)\}$/.exec(String(child(source, 'secret_key_ref').secret))![1]!));
      return { name, value: SECRET_PLACEHOLDER, secret };
    }
    return { name, value: evaluate(tf, env.value), secret: null };
  });
}
