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
  it('ends a newcomer whose first read fails, and lets go of the upstream listener', async () => {
    const upstream = { listening: false };
    let emptied = false;
    const topic = new Topic(
      source(() => Promise.reject(new Error('store down')), upstream),
      () => (emptied = true),
      () => {},
      0,
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
