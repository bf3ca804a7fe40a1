import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, validate, type GraphQLSchema } from 'graphql';
import type { Server } from 'node:http';
import type { App } from '../container.js';
import { createLoaders, type Context } from '../../resolvers/context.js';
import { formatError } from '../../resolvers/errors.js';
import { viewerFor } from './request-context.js';
import { allRules } from './validation-rules.js';

export interface GraphqlWsServer {
  /** Completes every subscription and closes every socket (graphql-ws close code 1001). */
  close(): Promise<void>;
  clients(): number;
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the same port and path as HTTP.
 * Each subscription gets its own context, with loaders for its lifetime.
 */
export function attachGraphqlWs(server: Server, app: App, schema: GraphQLSchema, path: string): GraphqlWsServer {
  const wss = new WebSocketServer({ server, path, maxPayload: app.config.maxBodyBytes });
  const rules = allRules(app.config);
  const onInternal = (error: unknown) => app.logger.error({ err: error }, 'internal error in a subscription');
  const disposable = useServer(
    {
      schema,
      validate: (s, document) => validate(s, document, rules),
      context: (ctx): Context => {
        const viewer = viewerFor(ctx.extra.request, app.config.localUser);
        return { app, viewer, loaders: createLoaders(app.jobs, viewer) };
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors) return;
        return { ...result, errors: result.errors.map((e) => formatError(e, e, onInternal)) };
      },
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((e) =>
          ((formatted) => new GraphQLError(formatted.message, { extensions: formatted.extensions }))(
            formatError(e, e, onInternal),
          ),
        ),
    },
    wss,
  );
  return {
    async close() {
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    clients: () => wss.clients.size,
  };
}
