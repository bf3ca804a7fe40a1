/**
 * Keyset paging shared by every store: a request names a window relative to an opaque
 * cursor, and a page returns each item with the cursor that points at it. Stores encode
 * their own cursors (the sort key of the item); callers never look inside.
 */
export interface PageRequest {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Edge<T> {
  node: T;
  cursor: string;
}

export interface Page<T> {
  edges: Edge<T>[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

/** At most this many items per page, as GitHub's API does. */
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
