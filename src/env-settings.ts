import type { z } from 'zod';

export class ConfigError extends Error {}

/**
 * Reads the variables a schema names from `env` (an empty value counts as unset) and
 * parses them; a wrong value throws ConfigError naming each variable, its value and the rule.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>, what: string): z.infer<S> {
  const picked = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `  ${i.path.join('.')}=${JSON.stringify(picked[String(i.path[0])])}: ${i.message}`,
    );
    throw new ConfigError(`invalid ${what}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
