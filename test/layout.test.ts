import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [
    ...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/gm),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
}

describe('layout', () => {
  it('keeps src/domain free of adapters, ports, services, resolvers, servers and SDKs', () => {
    // The domain may import only itself: every import must resolve inside src/domain.
    const domain = join(ROOT, 'src/domain');
    // Its tests may use real RDKit and fixtures.
    const code = sources('src/domain').filter((file) => !file.endsWith('.test.ts'));
    const offending = code.flatMap((file) =>
      imports(file)
        .filter((spec) => !(spec.startsWith('.') && resolve(dirname(join(ROOT, file)), spec).startsWith(domain)))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps resolvers away from the storage SDKs and adapters', () => {
    const offending = sources('resolvers').flatMap((file) =>
      imports(file)
        .filter((spec) => /adapters\/|better-sqlite3|@google-cloud\//.test(spec))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });
});
