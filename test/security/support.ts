import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { loadConfig } from '../../src/config.js';
import { createApp, type App } from '../../src/container.js';
import { startServer } from '../../src/server/http-server.js';
import type { Job } from '../../src/domain/job.js';
import { fakeResult } from '../support/test-worker.js';

/** JWT settings for a test server whose sessions {@link sessionFor} signs. */
export const JWT_ENV = {
  OMTX_JWT_SECRET: 'a-test-hs256-secret-of-at-least-32-characters!',
  OMTX_JWT_ISSUER: 'https://auth.example.org/',
  OMTX_JWT_AUDIENCE: 'omtx-hub',
} as const;

/** `Bearer <JWT>` for `userId` (and `org`) on a server started with {@link JWT_ENV}, valid until `exp` (unix seconds). */
export async function sessionFor(userId: string, org: string | null = null, exp: number | string = '5m'): Promise<string> {
  const token = await new SignJWT(org === null ? {} : { org })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(userId)
    .setIssuer(JWT_ENV.OMTX_JWT_ISSUER)
    .setAudience(JWT_ENV.OMTX_JWT_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(JWT_ENV.OMTX_JWT_SECRET));
  return `Bearer ${token}`;
}

export interface GraphqlAnswer<R> {
  status: number;
  data: R | null | undefined;
  errors: { message: string; extensions?: Record<string, unknown> }[] | undefined;
  headers: Headers;
}

export interface SecureServer {
  url: string;
  app: App;
  /** Every log line the api wrote, parsed (audit entries included). */
  logs: Record<string, unknown>[];
  /** POSTs an operation, with `authorization` as the Authorization header when given. */
  request<R, V>(document: TypedDocumentNode<R, V> | string, variables?: V, authorization?: string): Promise<GraphqlAnswer<R>>;
  /** A new API key for `userId` (and `organizationId`), as the CLI makes one: `Bearer omtx_…`. */
  keyFor(userId: string, organizationId?: string | null): Promise<{ authorization: string; id: string; prefix: string }>;
  /** A graphql-ws client authenticating with `authorization` in connectionParams; see {@link Socket}. */
  socket(authorization?: string): Socket;
  close(): Promise<void>;
}

export interface Socket {
  client: Client;
  /** The close event's code and reason, once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once the server acknowledged the connection. */
  connected: Promise<void>;
}

/** A real api on port 0 over a fresh data directory, logs captured; `env` overrides settings. */
export async function startSecureServer(env: Record<string, string> = {}): Promise<SecureServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omtx-security-'));
  const config = loadConfig({
    OMTX_DATA_DIR: dataDir,
    OMTX_PORT: '0',
    OMTX_LOG_LEVEL: 'info',
    OMTX_SHUTDOWN_GRACE_SECONDS: '1',
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const app = await createApp(config, pino({ level: config.logLevel }, sink));
  const running = await startServer(app);
  const clients: Client[] = [];
  return {
    url: running.url,
    app,
    logs,
    async request(document, variables, authorization) {
      const query = typeof document === 'string' ? document : print(document);
      const response = await fetch(`${running.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          ...(authorization === undefined ? {} : { authorization }),
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: never; errors?: never };
      return { status: response.status, data: body.data, errors: body.errors, headers: response.headers };
    },
    async keyFor(userId, organizationId = null) {
      const actor = { id: 'test-setup', credential: 'cli', apiKeyId: null };
      const { key, secret } = await app.apiKeys.create(actor, { userId, organizationId }, `${userId} key`);
      return { authorization: `Bearer ${secret}`, id: key.id, prefix: key.prefix };
    },
    socket(authorization) {
      let onClosed!: (event: { code: number; reason: string }) => void;
      let onConnected!: () => void;
      const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
      const connected = new Promise<void>((resolve) => (onConnected = resolve));
      const client = createClient({
        url: `${running.url.replace('http', 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: authorization === undefined ? {} : { authorization },
        on: {
          connected: () => onConnected(),
          closed: (event) => {
            const e = event as { code: number; reason: string };
            onClosed({ code: e.code, reason: String(e.reason) });
          },
        },
        onNonLazyError: () => {},
      });
      clients.push(client);
      return { client, closed, connected };
    },
    async close() {
      await Promise.all(clients.map((c) => c.dispose()));
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The first value of a subscription, or its error (a GraphQL error list or a close event).
 * The subscription is left to the server to complete (or to the socket's close): graphql-ws's
 * client may release its non-lazy socket if a completed operation is also stopped by hand.
 */
export function firstEvent<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
): Promise<{ data?: T; error?: unknown }> {
  return new Promise((resolve) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => resolve(value.errors ? { error: value.errors } : { data: value.data as T }),
        error: (error) => resolve({ error }),
        complete: () => resolve({}),
      },
    );
  });
}

/** Runs a job to COMPLETED through the store, as a worker would, with one stored artifact. */
export async function completeWithArtifact(app: App, job: Pick<Job, 'id' | 'batchId'>, body: string): Promise<void> {
  const key = job.batchId ? `batches/${job.batchId}/jobs/${job.id}/complex.pdb` : `jobs/${job.id}/complex.pdb`;
  await app.blobs.put(key, body, 'chemical/x-pdb');
  const claim = await app.jobs.claim(job.id, new Date(), 60_000);
  if (!claim.claimed) throw new Error(`could not claim ${job.id}: ${claim.reason}`);
  const result = {
    ...fakeResult(claim.job),
    artifacts: [{ name: 'complex.pdb', key, contentType: 'chemical/x-pdb', sizeBytes: body.length }],
  };
  await app.jobs.complete(job.id, claim.attempt, result, new Date());
}
