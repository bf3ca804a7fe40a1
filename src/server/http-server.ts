import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { App } from '../container.js';
import { buildApiSchema } from '../../resolvers/schema.js';
import { createGraphqlHttpHandler } from './graphql-http.js';
import { attachGraphqlWs } from './graphql-ws.js';
import { createMetrics, serveMetrics } from './metrics.js';
import { serveGraphiql } from './graphiql/graphiql-page.js';
import { serveArtifact } from './artifact-route.js';
import { serveReadiness } from './readiness.js';
import { repoRoot } from '../repo-root.js';
import { assertSafeListen } from '../auth/auth-config.js';
import { handleCors } from './cors.js';
import { refusalOf, type RequestOriginPolicy } from '../auth/request-origin.js';

export interface RunningServer {
  server: Server;
  /** `http://host:port`, with the port actually bound. */
  url: string;
  /** Stops accepting, drains requests and subscriptions, then closes the app. */
  close(): Promise<void>;
}

const GRAPHQL_PATH = '/graphql';
// The bundle is built into the checkout's dist/, whether this module runs from src/ or dist/src/.
const GRAPHIQL_ASSETS = join(repoRoot(fileURLToPath(import.meta.url)) ?? process.cwd(), 'dist', 'graphiql');

/**
 * One HTTP port for everything: GraphQL over HTTP and WebSocket at /graphql (GraphiQL for
 * browsers), signed artifact downloads at /artifacts, and /healthz, /readyz, /metrics.
 */
export async function startServer(app: App): Promise<RunningServer> {
  // Config refuses this already; checked again for a Config built in code.
  assertSafeListen(app.config.host, app.config.auth.required);
  const schema = await buildApiSchema();
  const metrics = createMetrics(app);
  const graphql = await createGraphqlHttpHandler(app, schema, metrics);
  const originPolicy: RequestOriginPolicy = {
    authRequired: app.config.auth.required,
    listenHost: app.config.host,
    corsOrigins: app.config.posture.corsOrigins,
  };
  let draining = false;

  const server = createServer((req, res) => {
    const requestId = (req.headers['x-request-id'] as string | undefined) ?? randomUUID();
    const path = (req.url ?? '/').split('?')[0]!;
    // On every answer, not only GraphQL's: a 413, a 404 or a probe can be traced as well.
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      app.logger.info({ requestId, method: req.method, path, status: res.statusCode, ms }, 'request');
    });
    const done = (error?: unknown) => {
      if (error) app.logger.error({ err: error, requestId, path }, 'request failed');
      if (error && !res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: 'Internal error', extensions: { code: 'INTERNAL' } }] }));
      }
    };
    if (draining) res.setHeader('connection', 'close');
    // Before any route: without authentication, only loopback names (DNS rebinding).
    const refusal = refusalOf(req, originPolicy, false);
    if (refusal !== null) {
      res.writeHead(403, { 'content-type': 'application/json; charset=utf-8' });
      return void res.end(JSON.stringify({ errors: [{ message: refusal, extensions: { code: 'FORBIDDEN' } }] }));
    }
    if (path === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (path === '/readyz') return void serveReadiness(req, res, app.jobs, draining).catch(done);
    if (path === '/metrics') return void serveMetrics(req, res, metrics, app.config).catch(done);
    const corsPath = path.startsWith('/artifacts/') || path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`);
    if (corsPath && handleCors(req, res, app.config.posture.corsOrigins)) return;
    if (path.startsWith('/artifacts/') && app.artifactSource !== null)
      return void serveArtifact(req, res, app.artifactSource).catch(done);
    if (path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`)) {
      if (app.config.posture.graphiql && serveGraphiql(req, res, { assetsDir: GRAPHIQL_ASSETS, graphqlPath: GRAPHQL_PATH }))
        return;
      return void graphql.handle(req, res, requestId).catch(done);
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for ${path}; GraphQL is at ${GRAPHQL_PATH}\n`);
  });
  server.headersTimeout = 60_000;
  server.requestTimeout = 300_000;
  server.keepAliveTimeout = 65_000;

  const ws = attachGraphqlWs(server, app, schema, GRAPHQL_PATH, originPolicy);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(app.config.port, app.config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = app.config.host.includes(':') ? `[${app.config.host}]` : app.config.host;
  const url = `http://${host}:${port}`;
  if (!app.config.publicUrl) app.setPublicUrl(url);
  app.logger.info({ url: `${url}${GRAPHQL_PATH}` }, 'OMTX-Hub api listening');

  let closing: Promise<void> | null = null;
  return {
    server,
    url,
    close() {
      closing ??= (async () => {
        draining = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await ws.close();
        const grace = new Promise<void>((resolve) => setTimeout(resolve, app.config.shutdownGraceSeconds * 1000).unref());
        await Promise.race([stopped, grace]);
        server.closeAllConnections();
        // Apollo refuses to execute once stopped: stop it only after in-flight requests drained.
        await graphql.stop();
        await app.close();
      })();
      return closing;
    },
  };
}
