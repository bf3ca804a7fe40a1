import { WebSocketServer, type WebSocket } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { CloseCode } from 'graphql-ws';
import { GraphQLError, NoSchemaIntrospectionCustomRule, validate, type GraphQLSchema } from 'graphql';
import type { IncomingMessage, Server } from 'node:http';
import type { App } from '../container.js';
import { createLoaders, type Context } from '../../resolvers/context.js';
import { formatError } from '../../resolvers/errors.js';
import { UnauthenticatedError } from '../domain/errors.js';
import { authenticate, type Authentication } from './request-context.js';
import { refusalOf, type RequestOriginPolicy } from '../auth/request-origin.js';
import { allRules } from './validation-rules.js';
import { createWsLimits } from './limits/ws-limits.js';

export interface GraphqlWsServer {
  /** Completes every subscription and closes every socket (graphql-ws close code 1001). */
  close(): Promise<void>;
  clients(): number;
}

/**
 * Longest delay Node's timers take (about 24.8 days): a longer one fires at once, so a later
 * expiry is reached in steps of at most this.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * GraphQL over WebSocket (the graphql-ws protocol) on the same port and path as HTTP.
 * Each subscription gets its own context, with loaders for its lifetime.
 *
 * The socket authenticates once, in `connection_init`: `connectionParams.authorization`
 * (`'Bearer …'`, as over HTTP), else the upgrade request's `Authorization` header. A missing
 * or bad credential closes it with 4401 Unauthorized (there is no 4403: a credential that
 * verifies may open a socket). Before that, the upgrade itself is refused with 403 when its
 * `Origin` is a foreign page's (cross-site WebSocket hijacking), or, without authentication,
 * when its `Host` is not a loopback name (DNS rebinding): see `auth/request-origin.ts`. The
 * credential is watched for as long as the socket lives: revoking its API key (here, or in
 * another process: swept every `OMTX_API_KEY_CACHE_SECONDS`) and the expiry of its JWT close
 * it with 4401 as well, since from then on the client is no longer authenticated.
 */
export function attachGraphqlWs(
  server: Server,
  app: App,
  schema: GraphQLSchema,
  path: string,
  originPolicy: RequestOriginPolicy,
): GraphqlWsServer {
  const wss = new WebSocketServer({
    server,
    path,
    maxPayload: app.config.maxBodyBytes,
    verifyClient: ({ req }: { req: IncomingMessage }, accept: (ok: boolean, code?: number, message?: string) => void) => {
      const refusal = refusalOf(req, originPolicy, true);
      if (refusal === null) return accept(true);
      app.logger.warn({ origin: req.headers.origin, host: req.headers.host }, `WebSocket upgrade refused: ${refusal}`);
      accept(false, 403, refusal);
    },
  });
  const rules = app.config.posture.introspection
    ? allRules(app.config)
    : [...allRules(app.config), NoSchemaIntrospectionCustomRule];
  const onInternal = (error: unknown) => app.logger.error({ err: error }, 'internal error in a subscription');
  const sessions = new WeakMap<WebSocket, Authentication>();
  // Token limit, validation, query cost and budget before an operation runs (server/limits).
  const viewerOf = (ctx: { extra: { socket: WebSocket } }) => sessions.get(ctx.extra.socket)?.viewer ?? null;
  const limits = createWsLimits(app.limits, schema, rules, viewerOf);
  const socketsByKey = new Map<string, Set<WebSocket>>();
  const expiryTimers = new Map<WebSocket, NodeJS.Timeout>();

  const unauthorized = (socket: WebSocket, why: string) =>
    socket.close(CloseCode.Unauthorized, `Unauthorized: ${why}`.slice(0, 120));
  const closeKeySockets = (keyId: string) => {
    for (const socket of socketsByKey.get(keyId) ?? []) unauthorized(socket, 'API key revoked');
  };
  // Closes the socket at `expiresAtMs`; beyond MAX_TIMER_MS, re-arms in steps.
  const armExpiry = (socket: WebSocket, expiresAtMs: number) => {
    const ms = expiresAtMs - Date.now();
    const timer =
      ms > MAX_TIMER_MS
        ? setTimeout(() => armExpiry(socket, expiresAtMs), MAX_TIMER_MS)
        : setTimeout(() => unauthorized(socket, 'token expired'), Math.max(0, ms));
    expiryTimers.set(socket, timer);
  };
  const forget = (socket: WebSocket) => {
    const auth = sessions.get(socket);
    const keyId = auth?.viewer.apiKeyId;
    if (keyId) {
      const set = socketsByKey.get(keyId);
      set?.delete(socket);
      if (set?.size === 0) socketsByKey.delete(keyId);
    }
    clearTimeout(expiryTimers.get(socket));
    expiryTimers.delete(socket);
  };

  const stopRevocations = app.apiKeys.onRevoked(closeKeySockets);
  // Another process (or the CLI) may revoke a key: check the keys of open sockets now and then.
  const sweepMs = Math.max(1, app.config.auth.apiKeyCacheSeconds || 60) * 1000;
  const sweep = setInterval(() => {
    if (socketsByKey.size === 0) return;
    app.apiKeys.inactive([...socketsByKey.keys()]).then(
      (ids) => ids.forEach(closeKeySockets),
      (error: unknown) => app.logger.error({ err: error }, 'revoked-key sweep failed'),
    );
  }, sweepMs);
  sweep.unref();

  const disposable = useServer(
    {
      schema,
      validate: (s, document) => validate(s, document, rules),
      onSubscribe: limits.onSubscribe,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        const params = ctx.connectionParams;
        const given = params?.authorization ?? params?.Authorization;
        const authorization = typeof given === 'string' ? given : ctx.extra.request.headers.authorization;
        let auth: Authentication;
        try {
          auth = await authenticate(app, authorization);
        } catch (error) {
          if (error instanceof UnauthenticatedError) {
            unauthorized(socket, error.message);
            return false;
          }
          throw error;
        }
        sessions.set(socket, auth);
        const keyId = auth.viewer.apiKeyId;
        if (keyId) {
          let set = socketsByKey.get(keyId);
          if (!set) socketsByKey.set(keyId, (set = new Set()));
          set.add(socket);
        }
        if (auth.expiresAt) armExpiry(socket, auth.expiresAt.getTime());
        socket.once('close', () => forget(socket));
        return true;
      },
      context: (ctx): Context => {
        const auth = sessions.get(ctx.extra.socket);
        // graphql-ws subscribes only after onConnect acknowledged the socket.
        if (!auth) throw new UnauthenticatedError('the socket is not authenticated');
        return { app, viewer: auth.viewer, loaders: createLoaders(app.jobs, auth.viewer) };
      },
      onNext: (ctx, id, _payload, _args, next) => {
        const result = limits.withCost(ctx, id, next);
        if (!result.errors) return result;
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
      clearInterval(sweep);
      stopRevocations();
      for (const timer of expiryTimers.values()) clearTimeout(timer);
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    clients: () => wss.clients.size,
  };
}
