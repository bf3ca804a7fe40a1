import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The omtx-hub checkout a module runs from, found by walking up to its `package.json`, so
 * the same code finds its files from `src/` (tsx, tests) and from `dist/src/` (the build).
 * Null when the module is not inside one.
 */
export function repoRoot(from: string): string | null {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'omtx-hub') return dir;
    if (dirname(dir) === dir) return null;
  }
}
