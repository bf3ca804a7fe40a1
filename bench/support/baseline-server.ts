/**
 * The baseline of bench/http.bench.ts and bench/paging.bench.ts: a plain graphql-js server on
 * node:http (`buildSchema` SDL, plain resolvers, `execute`), reading the SAME SQLite file
 * through the same SqliteJobStore. It has no Apollo, type-graphql, DataLoader, validation
 * limits, metrics or logging; documents are parsed and validated once per distinct query
 * string (as any production server caches them). Usage:
 *   node --import tsx bench/support/baseline-server.ts <sqlite file> <port> <owner>
 */
import { createServer } from 'node:http';
import { buildSchema, execute, parse, validate, type DocumentNode } from 'graphql';
import { openSqlite } from '../../src/adapters/local/sqlite/database.js';
import { SqliteJobStore } from '../../src/adapters/local/sqlite-job-store.js';
import type { Job } from '../../src/domain/job.js';
import type { Page } from '../../src/ports/page.js';

const [file, portText, owner = 'local'] = process.argv.slice(2);
if (!file || !portText) throw new Error('usage: baseline-server.ts <sqlite file> <port> [owner]');

const schema = buildSchema(`
  type Query {
    job(id: ID!): Job
    jobs(first: Int, after: String): JobConnection!
  }
  type JobConnection { edges: [JobEdge!]! pageInfo: PageInfo! }
  type JobEdge { cursor: String! node: Job! }
  type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
  type Job {
    id: ID! kind: String! model: String! name: String status: String! attempts: Int!
    createdAt: String! startedAt: String completedAt: String
    ligand: Ligand! protein: Protein parameters: Parameters! result: Result
  }
  type Ligand { name: String smiles: String! canonicalSmiles: String! heavyAtoms: Int! rotatableBonds: Int! }
  type Protein { name: String sequence: String }
  type Parameters { seed: Int diffusionSamples: Int samplingSteps: Int recyclingSteps: Int useMsaServer: Boolean }
  type Result { affinity: Affinity confidence: Confidence }
  type Affinity { value: Float! unit: String! kcalPerMol: Float probabilityBinder: Float }
  type Confidence { score: Float! ptm: Float iptm: Float plddt: Float }
`);

const iso = (d: Date | null) => (d === null ? null : d.toISOString());
const view = (job: Job) => ({
  ...job,
  createdAt: iso(job.createdAt),
  startedAt: iso(job.startedAt),
  completedAt: iso(job.completedAt),
});

const store = new SqliteJobStore(openSqlite(file));
const rootValue = {
  async job({ id }: { id: string }) {
    const [job] = await store.getJobs([id]);
    return job && job.owner === owner ? view(job) : null;
  },
  async jobs({ first, after }: { first?: number; after?: string }) {
    const page: Page<Job> = await store.listJobs(owner, {}, { first: first ?? null, after: after ?? null });
    return {
      edges: page.edges.map((e) => ({ cursor: e.cursor, node: view(e.node) })),
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: page.hasPreviousPage,
        startCursor: page.edges[0]?.cursor ?? null,
        endCursor: page.edges.at(-1)?.cursor ?? null,
      },
    };
  },
};

const documents = new Map<string, DocumentNode | { errors: readonly unknown[] }>();
function documentFor(query: string): DocumentNode | { errors: readonly unknown[] } {
  let doc = documents.get(query);
  if (!doc) {
    try {
      const parsed = parse(query);
      const errors = validate(schema, parsed);
      doc = errors.length > 0 ? { errors } : parsed;
    } catch (error) {
      doc = { errors: [error] };
    }
    documents.set(query, doc);
  }
  return doc;
}

createServer((req, res) => {
  if (req.url === '/healthz') return void res.end('ok\n');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      const { query, variables } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        query: string;
        variables?: Record<string, unknown>;
      };
      const doc = documentFor(query);
      const result = 'kind' in doc ? await execute({ schema, document: doc, rootValue, variableValues: variables ?? {} }) : doc;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(result));
    })().catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ message: String(error) }] }));
    });
  });
}).listen(Number(portText), '127.0.0.1');
process.once('SIGTERM', () => process.exit(0)); // lets --cpu-prof write its profile
