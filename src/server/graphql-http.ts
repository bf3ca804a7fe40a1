import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../container.js';
import type { Context } from '../../resolvers/context.js';
import { createLoaders } from '../../resolvers/context.js';
import { formatError } from '../../resolvers/errors.js';
import { authenticate, type Viewer } from './request-context.js';
import { UnauthenticatedError } from '../domain/errors.js';
import { limitRules } from './validation-rules.js';
import { BodyTooLargeError, readBody } from './read-body.js';
import type { Metrics } from './metrics.js';
import { limitsPlugin } from './limits/apollo-limits-plugin.js';

export interface GraphqlHttpHandler {
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * GraphQL over HTTP through Apollo Server on a plain node:http server: Apollo answers with
 * the GraphQL-over-HTTP status codes (400 for parse and validation errors, 405 for a
 * mutation over GET) and `application/graphql-response+json` when the client accepts it.
 */
export async function createGraphqlHttpHandler(app: App, schema: GraphQLSchema, metrics: Metrics): Promise<GraphqlHttpHandler> {
  const apollo = new ApolloServer<Context>({
    schema,
    validationRules: limitRules(app.config),
    parseOptions: { maxTokens: app.config.limits.maxTokens },
    // Off in production and whenever credentials are required, unless OMTX_INTROSPECTION says otherwise.
    introspection: app.config.posture.introspection,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => formatError(formatted, error, (e) => app.logger.error({ err: e }, 'internal error')),
    // GraphiQL is ours (bundled, offline); Apollo's landing page would load from a CDN.
    plugins: [
      metricsPlugin(metrics),
      subscriptionsOverWebSocket(),
      limitsPlugin(app.limits),
      ApolloServerPluginLandingPageDisabled(),
      // We set no cache hints; the default plugin would still wrap every field resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();

  return {
    async handle(req, res, requestId) {
      // Before the body is read: an anonymous client cannot make us buffer 32 MiB.
      let viewer: Viewer;
      try {
        ({ viewer } = await authenticate(app, req.headers.authorization));
      } catch (error) {
        // A bad credential is the client's: 401, never 5xx (authenticate refuses nothing else).
        if (error instanceof UnauthenticatedError) {
          res.setHeader('www-authenticate', 'Bearer realm="omtx"');
          return sendError(res, 401, 'UNAUTHENTICATED', error.message);
        }
        throw error;
      }
      let body: unknown;
      try {
        const text = req.method === 'POST' ? await readBody(req, app.config.maxBodyBytes) : '';
        body = text && isJson(req) ? JSON.parse(text) : text;
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendError(res, 413, 'BAD_REQUEST', error.message);
        return sendError(res, 400, 'BAD_REQUEST', `request body is not valid JSON: ${(error as Error).message}`);
      }
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
        context: async () => ({ app, viewer, loaders: createLoaders(app.jobs, viewer) }),
      });
      res.statusCode = result.status ?? 200;
      for (const [key, value] of result.headers) res.setHeader(key, value);
      res.setHeader('x-request-id', requestId);
      if (result.body.kind === 'complete') {
        res.end(result.body.string);
        return;
      }
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    },
    stop: () => apollo.stop(),
  };
}

function isJson(req: IncomingMessage): boolean {
  return /^application\/(.+\+)?json\b/i.test(req.headers['content-type'] ?? '');
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/**
 * Subscriptions run over graphql-ws only: executed over HTTP, a subscription field has no
 * event stream and graphql-js fails it as an INTERNAL error. Refuse it as a bad request.
 */
function subscriptionsOverWebSocket(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          // Apollo calls this even when no operation matched `operationName` (it answers that later).
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError('subscriptions are served over WebSocket (graphql-ws protocol) at this path, not over HTTP', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        },
      };
    },
  };
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operationName, operation, errors }) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.observeOperation(
            operationName ?? null,
            operation?.operation ?? 'unknown',
            errors?.length ? 'error' : 'ok',
            seconds,
          );
        },
      };
    },
  };
}
