import { print } from 'graphql';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliWatchBatchDocument, type CliWatchBatchSubscription } from '../../../schema/__generated__/graphql.js';
import { GraphqlRequestError, type GraphqlClient, type GraphqlError } from './graphql-client.js';

export type BatchEvent = CliWatchBatchSubscription['batchProgress'];
export type BatchStatus = BatchEvent['batch']['status'];

export const TERMINAL: ReadonlySet<BatchStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

export type WatchOutcome = { kind: 'ended'; event: BatchEvent } | { kind: 'detached' };

export interface WatchOptions {
  /** Aborting detaches: the subscription closes and the batch keeps running. */
  signal: AbortSignal;
  /**
   * Re-subscriptions in a row without an event before giving up.
   * @default 5
   */
  maxRetries?: number;
  /**
   * The first wait before re-subscribing; it doubles each time.
   * @default 500 // milliseconds
   */
  retryDelayMs?: number;
}

const QUERY = print(CliWatchBatchDocument);

/**
 * Follows `batchProgress` until the batch ends, calling `onEvent` for each event. The api
 * sends the current state first, so a re-subscription loses nothing: after a dropped socket
 * or a subscription completed early (an api draining for shutdown) it subscribes again. A
 * GraphQL error (e.g. NOT_FOUND) is not retried.
 */
export async function watchBatch(
  client: GraphqlClient,
  batchId: string,
  onEvent: (event: BatchEvent) => void,
  { signal, maxRetries = 5, retryDelayMs = 500 }: WatchOptions,
): Promise<WatchOutcome> {
  let failures = 0;
  let last: BatchEvent | null = null;
  for (;;) {
    if (signal.aborted) return { kind: 'detached' };
    let lost: unknown = null;
    try {
      const ended = await subscribeOnce(client, batchId, signal, (event) => {
        failures = 0;
        last = event;
        onEvent(event);
      });
      if (ended === 'aborted') return { kind: 'detached' };
    } catch (error) {
      if (error instanceof GraphqlRequestError) throw error;
      lost = error;
    }
    const event = last as BatchEvent | null;
    if (event && TERMINAL.has(event.batch.status)) return { kind: 'ended', event };
    if (++failures > maxRetries) {
      throw new Error(`lost the progress subscription ${failures} times in a row (${describe(lost)})`);
    }
    try {
      await sleep(retryDelayMs * 2 ** (failures - 1), undefined, { signal });
    } catch {
      return { kind: 'detached' };
    }
  }
}

/** One subscription on a fresh connection: 'complete' when the server ends it. */
function subscribeOnce(
  client: GraphqlClient,
  batchId: string,
  signal: AbortSignal,
  onEvent: (event: BatchEvent) => void,
): Promise<'complete' | 'aborted'> {
  const ws = client.wsClient();
  let onAbort = () => {};
  return new Promise<'complete' | 'aborted'>((resolve, reject) => {
    onAbort = () => {
      unsubscribe();
      resolve('aborted');
    };
    const unsubscribe = ws.subscribe<CliWatchBatchSubscription>(
      { query: QUERY, variables: { id: batchId } },
      {
        next: (result) => {
          if (result.errors?.length) {
            reject(new GraphqlRequestError(result.errors.map((e) => e.message).join('; '), result.errors as GraphqlError[]));
          } else if (result.data) onEvent(result.data.batchProgress);
        },
        // graphql-ws reports GraphQL errors as an array, a socket problem as an event or Error.
        error: (error) =>
          reject(
            Array.isArray(error)
              ? new GraphqlRequestError(error.map((e: GraphqlError) => e.message).join('; '), error as GraphqlError[])
              : error,
          ),
        complete: () => resolve('complete'),
      },
    );
    signal.addEventListener('abort', onAbort, { once: true });
  }).finally(() => {
    signal.removeEventListener('abort', onAbort);
    void ws.dispose();
  });
}

function describe(error: unknown): string {
  if (error === null) return 'the subscription ended before the batch did';
  if (error instanceof Error) return error.message;
  const close = error as { code?: number; reason?: string; type?: string };
  if (typeof close.code === 'number') return `socket closed ${close.code}${close.reason ? `: ${close.reason}` : ''}`;
  return close.type ?? String(error);
}
