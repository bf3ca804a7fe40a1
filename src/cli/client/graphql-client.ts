import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** One GraphQL error as the api sends it (`extensions.code`, `extensions.invalid`). */
export interface GraphqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; invalid?: { path: string[]; message: string }[]; [key: string]: unknown };
}

/** The api answered with errors (or an unusable response). */
export class GraphqlRequestError extends Error {
  constructor(
    message: string,
    readonly errors: GraphqlError[],
  ) {
    super(message);
    this.name = 'GraphqlRequestError';
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** The api could not be reached at all. */
export class ApiUnreachableError extends Error {
  constructor(url: string, cause: unknown) {
    // fetch rejects with "fetch failed"; the reason (ECONNREFUSED, bad port) is its cause.
    const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
    const reason = inner?.code ?? inner?.message ?? String(cause);
    super(`cannot reach the api at ${url} (${reason}); is \`omtx serve\` running there? (--url)`);
    this.name = 'ApiUnreachableError';
  }
}

/** Queries and mutations over HTTP POST; subscriptions over graphql-ws on the same path. */
export class GraphqlClient {
  constructor(readonly url: string) {}

  async request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> {
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query: print(document), variables }),
      });
    } catch (error) {
      throw new ApiUnreachableError(this.url, error);
    }
    const text = await response.text();
    let body: { data?: R | null; errors?: GraphqlError[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new GraphqlRequestError(
        `expected a GraphQL response from ${this.url}, got HTTP ${response.status}: ${text.slice(0, 200)}`,
        [],
      );
    }
    if (body.errors?.length) throw new GraphqlRequestError(body.errors.map((e) => e.message).join('; '), body.errors);
    if (!body.data) throw new GraphqlRequestError(`HTTP ${response.status} from ${this.url} without data`, []);
    return body.data;
  }

  /** A graphql-ws client for this api; the caller disposes it. */
  wsClient(): Client {
    return createClient({
      url: this.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: true,
      // Reconnects are the watcher's job: it re-subscribes and gets the current state first.
      retryAttempts: 0,
    });
  }
}
