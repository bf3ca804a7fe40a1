/** How one HTTP attempt ended. */
export type AttemptOutcome = { answered: true; status: number; detail: string } | { answered: false; error: string };

/** Enough of an error body to say why in the failed-task record, not a whole HTML page. */
const DETAIL_CHARS = 500;

/**
 * POSTs one task. The attempt is aborted at `deadlineMs` or when `controller` is aborted
 * from outside (close); either way it ends as "no answer", which Cloud Tasks also retries.
 */
export async function deliver(
  fetchFn: typeof fetch,
  url: string,
  headers: Record<string, string>,
  body: string,
  deadlineMs: number,
  controller: AbortController,
): Promise<AttemptOutcome> {
  const deadline = setTimeout(
    () => controller.abort(new Error(`no answer within the dispatch deadline of ${deadlineMs} ms`)),
    deadlineMs,
  );
  deadline.unref();
  try {
    // Cloud Tasks does not follow redirects: a 3xx is a failed attempt.
    const response = await fetchFn(url, { method: 'POST', headers, body, redirect: 'manual', signal: controller.signal });
    // Reading the body frees the connection for reuse; a body cut off by the deadline still
    // leaves a valid status.
    const text = await response.text().catch(() => '');
    return { answered: true, status: response.status, detail: text.slice(0, DETAIL_CHARS) };
  } catch (error) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
    return { answered: false, error: describe(reason) };
  } finally {
    clearTimeout(deadline);
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici hides the socket error ("ECONNREFUSED", "other side closed") in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
