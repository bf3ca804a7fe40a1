import type { Page } from '../src/ports/page.js';

/** A store page as a Relay connection; `nodes` is the edges' nodes, for clients that skip cursors. */
export function toConnection<T>(page: Page<T>) {
  return {
    edges: page.edges,
    nodes: page.edges.map((e) => e.node),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: page.edges[0]?.cursor ?? null,
      endCursor: page.edges[page.edges.length - 1]?.cursor ?? null,
    },
  };
}
