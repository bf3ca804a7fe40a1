import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { createApp, type App } from '../../src/container.js';
import { startServer } from '../../src/server/http-server.js';
import { NO_LIMITS_ENV } from './no-limits.js';

export interface TestServer {
  url: string;
  app: App;
  dataDir: string;
  /** POSTs an operation and returns the parsed body and status. */
  request<R, V>(
    document: TypedDocumentNode<R, V> | string,
    variables?: V,
    headers?: Record<string, string>,
  ): Promise<GraphqlResponse<R>>;
  /** A graphql-ws client on this server; closed with the server. */
  wsClient(): Client;
  close(): Promise<void>;
}

export interface GraphqlResponse<R> {
  status: number;
  data: R | null | undefined;
  errors: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] | undefined;
  headers: Headers;
}

/** A real api on port 0 over a fresh data directory; `env` overrides settings. */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-test-'));
  const config = loadConfig({
    OMTX_DATA_DIR: dataDir,
    OMTX_PORT: '0',
    OMTX_LOG_LEVEL: 'silent',
    OMTX_SHUTDOWN_GRACE_SECONDS: '1',
    ...NO_LIMITS_ENV,
    ...env,
  });
  const app = await createApp(config, pino({ level: config.logLevel }));
  const running = await startServer(app);
  const clients: Client[] = [];
  return {
    url: running.url,
    app,
    dataDir,
    async request(document, variables, headers = {}) {
      const query = typeof document === 'string' ? document : print(document);
      const response = await fetch(`${running.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, data: body.data, errors: body.errors, headers: response.headers };
    },
    wsClient() {
      const client = createClient({
        url: `${running.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
      });
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collects every `next` of a subscription until it completes (or errors). */
export function collect<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
): { events: T[]; done: Promise<T[]>; errors: unknown[] } {
  const events: T[] = [];
  const errors: unknown[] = [];
  const done = new Promise<T[]>((resolve, reject) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) errors.push(...value.errors);
          if (value.data) events.push(value.data as T);
        },
        error: (error) => reject(error),
        complete: () => resolve(events),
      },
    );
  });
  return { events, done, errors };
}
