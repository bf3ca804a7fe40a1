/**
 * The subscriptions each user has open in this process, to cap them. A subscription is
 * registered when it starts; it is open for as long as `isOpen(ctx, id)` says so (for
 * graphql-ws: while `id` is in the socket context's `subscriptions`, which graphql-ws empties
 * when the subscription completes, errors or its socket closes). Ended ones are forgotten
 * when their user's subscriptions are next counted; a socket's context is held weakly, so a
 * closed socket is not kept in memory by a user who never subscribes again.
 */
export class OpenSubscriptions<C extends object> {
  readonly #byViewer = new Map<string, Set<WeakRef<C>>>();
  readonly #ids = new WeakMap<C, Set<string>>();

  constructor(private readonly isOpen: (ctx: C, id: string) => boolean) {}

  /** `viewerId`'s open subscriptions, in every socket of theirs. */
  count(viewerId: string): number {
    const refs = this.#byViewer.get(viewerId);
    if (!refs) return 0;
    let open = 0;
    for (const ref of refs) {
      const ctx = ref.deref();
      const ids = ctx && this.#ids.get(ctx);
      if (ctx && ids) {
        for (const id of ids) {
          if (this.isOpen(ctx, id)) open += 1;
          else ids.delete(id);
        }
      }
      if (!ctx || !ids || ids.size === 0) {
        refs.delete(ref);
        if (ctx) this.#ids.delete(ctx);
      }
    }
    if (refs.size === 0) this.#byViewer.delete(viewerId);
    return open;
  }

  /** Registers subscription `id` of `viewerId` on socket context `ctx`. */
  add(viewerId: string, ctx: C, id: string): void {
    let ids = this.#ids.get(ctx);
    if (!ids) {
      this.#ids.set(ctx, (ids = new Set()));
      let refs = this.#byViewer.get(viewerId);
      if (!refs) this.#byViewer.set(viewerId, (refs = new Set()));
      refs.add(new WeakRef(ctx));
    }
    ids.add(id);
  }
}
