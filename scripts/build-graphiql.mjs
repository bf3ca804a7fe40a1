#!/usr/bin/env node
// Bundles GraphiQL (React 18 + graphiql 3 + graphql-ws client) into
// dist/graphiql/graphiql.{js,css} so GET /graphql works with no CDN and no
// internet. graphiql 3 edits with CodeMirror 5 (no web workers) and its CSS
// inlines its fonts as data: URLs, so these two files are all the page loads.
//
// Usage: node scripts/build-graphiql.mjs [--outdir dist/graphiql] [--dev]
import { build } from 'esbuild';
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    outdir: { type: 'string', default: join(projectRoot, 'dist', 'graphiql') },
    dev: { type: 'boolean', default: false },
  },
});

const started = Date.now();
const result = await build({
  absWorkingDir: projectRoot,
  entryPoints: { graphiql: join(projectRoot, 'src/server/graphiql/entry.jsx') },
  outdir: resolve(values.outdir),
  bundle: true,
  // One file, no chunks: the server serves exactly graphiql.js and graphiql.css.
  splitting: false,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: !values.dev,
  sourcemap: values.dev ? 'inline' : false,
  jsx: 'transform',
  loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.svg': 'dataurl' },
  define: {
    // React and friends branch on this; without it the browser throws on `process`.
    'process.env.NODE_ENV': JSON.stringify(values.dev ? 'development' : 'production'),
  },
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});

const files = await readdir(resolve(values.outdir));
const sizes = Object.entries(result.metafile.outputs)
  .map(([file, { bytes }]) => `${file.split('/').pop()} ${(bytes / 1024).toFixed(0)} KiB`)
  .join(', ');
console.log(`graphiql bundle → ${values.outdir} (${files.length} files: ${sizes}) in ${Date.now() - started} ms`);
