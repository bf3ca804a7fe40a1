import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from './repo-root.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

describe('repoRoot', () => {
  it('finds the checkout from a source module and from its built copy under dist/', () => {
    expect(repoRoot(join(ROOT, 'src', 'server', 'http-server.ts'))).toBe(ROOT);
    expect(repoRoot(join(ROOT, 'dist', 'src', 'server', 'http-server.js'))).toBe(ROOT);
  });

  it('answers null outside a checkout', () => {
    expect(repoRoot('/tmp/elsewhere/module.js')).toBeNull();
  });
});
