/**
 * Writes `schema/schema.graphql` from the type-graphql classes; with `--check`, fails when
 * the committed file differs from what the classes emit (CI runs that).
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { printSchema, lexicographicSortSchema } from 'graphql';
import { buildApiSchema } from '../resolvers/schema.js';

const path = new URL('../schema/schema.graphql', import.meta.url);
const header = '# Emitted from the type-graphql classes in resolvers/ by `npm run schema:emit`. Do not edit.\n\n';
const emitted = header + printSchema(lexicographicSortSchema(await buildApiSchema())) + '\n';

if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(path, 'utf8');
  } catch {
    // A missing file is stale too.
  }
  if (committed !== emitted) {
    console.error('schema/schema.graphql is stale: run `npm run schema:emit` and commit it.');
    process.exit(1);
  }
  console.log('schema/schema.graphql is current.');
} else {
  writeFileSync(path, emitted);
  console.log('wrote schema/schema.graphql');
}
