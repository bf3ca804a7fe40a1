import { describe, expect, it } from 'vitest';
import { Topic, type TopicSource } from './topic.js';

function source(read: () => Promise<number>, stopped: { listening: boolean }): TopicSource<number, null> {
  return {
    listen: () => {
      stopped.listening = true;
      return () => (stopped.listening = false);
    },
    read,
    initial: (state) => state,
    isTerminal: (state) => state >= 10,
    catchUp: async () => {},
    merge: (_older, newer) => newer,
  };
}

describe('Topic', () => {
  it('retries a failed read with backoff and delivers the state once the store answers', async () => {
    const upstream = { listening: false };
    let failures = 3;
    const errors: unknown[] = [];
    const topic = new Topic(
      source(() => (failures-- > 0 ? Promise.reject(new Error('store down')) : Promise.resolve(4)), upstream),
      () => {},
      (error) => errors.push(error),
      0,
      { firstDelayMs: 1, maxDelayMs: 4, giveUpAfterMs: 60_000 },
    );
    const stream = topic.subscribe();
    expect(await stream.next()).toEqual({ value: 4, done: false });
    expect(errors).toHaveLength(3);
    expect(upstream.listening).toBe(true);
    await stream.return();
  });

  it('ends a newcomer whose reads keep failing past the give-up time, and lets go of the upstream listener', async () => {
    const upstream = { listening: false };
    let emptied = false;
    const topic = new Topic(
      source(() => Promise.reject(new Error('store down')), upstream),
      () => (emptied = true),
      () => {},
      0,
      { firstDelayMs: 1, maxDelayMs: 2, giveUpAfterMs: 20 },
    );
    const stream = topic.subscribe();
    expect(await stream.next()).toEqual({ value: undefined, done: true });
    expect(emptied).toBe(true);
    expect(upstream.listening).toBe(false);
  });

  it('sends the current state first and completes after a terminal state', async () => {
    const upstream = { listening: false };
    let state = 10;
    const topic = new Topic(
      source(async () => state++, upstream),
      () => {},
      () => {},
      0,
    );
    const stream = topic.subscribe();
    expect(await stream.next()).toEqual({ value: 10, done: false });
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });
});
