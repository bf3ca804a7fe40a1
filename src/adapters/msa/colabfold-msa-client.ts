import { setTimeout as sleep } from 'node:timers/promises';
import { Parser } from 'tar';
import { MsaServerError, type MsaProvider } from '../../ports/msa-provider.js';
import { FIRST_QUERY_ID, MalformedA3mError, unpairedMsaCsv } from './a3m.js';

/** Credentials for a private MSA server; Boltz accepts the same two kinds, never both. */
export type MsaServerAuth =
  /** HTTP basic auth, Boltz's `--msa_server_username` / `--msa_server_password`. */
  | { type: 'basic'; username: string; password: string }
  /** An API key in a header, Boltz's `--api_key_header` / `--api_key_value`. */
  | { type: 'header'; value: string; /** @default 'X-API-Key' */ header?: string };

export interface ColabFoldMsaClientOptions {
  /** Base URL of the MSA server; ColabFold's public one (Boltz's default) is `https://api.colabfold.com`. */
  url: string;
  /** Sent with every request when the server is a private one. */
  auth?: MsaServerAuth;
  /**
   * Base wait between status polls, between resubmissions the server rate-limited, and
   * before retrying a failed request; each wait lasts 1–2× this, as Boltz's 5–10 s do.
   * @default 5_000 // 5 seconds
   */
  pollIntervalMs?: number;
  /** A search still without a result after this fails with a retryable error. @default 3_600_000 // 1 hour */
  timeLimitMs?: number;
  /** One request (with its body) that takes longer counts as a network failure. @default 60_000 // 1 minute */
  requestTimeoutMs?: number;
  /** Further attempts of a request after a network failure, timeout or 5xx, as Boltz's 5. @default 5 */
  maxRetries?: number;
  /** Names the caller to the server operators, as Boltz sends `boltz`. @default 'omtx-hub' */
  userAgent?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** UniRef30 plus the environmental ColabFoldDB, filtered, unpaired: Boltz's `use_env=True, use_pairing=False`. */
const MODE = 'env';
/** What a `mode: env` result holds; Boltz reads these two, in this order, and ignores the rest. */
const A3M_FILES = ['uniref.a3m', 'bfd.mgnify30.metaeuk30.smag30.a3m'] as const;
/** Submission answers after which Boltz waits and submits again. */
const RESUBMIT = new Set(['RATELIMIT', 'UNKNOWN']);
/** Ticket states in which Boltz keeps polling. */
const IN_PROGRESS = new Set(['PENDING', 'RUNNING', 'UNKNOWN']);

interface Ticket {
  status: string;
  id?: string;
}

/** The state of one `search`: the caller's signal, its time limit, and both combined. */
interface Run {
  signal: AbortSignal;
  caller: AbortSignal | undefined;
  deadline: AbortSignal;
}

/** A failure worth another attempt of the same request (Boltz retries these too). */
class Transient {
  constructor(readonly reason: string) {}
}

/**
 * An {@link MsaProvider} on an MSA server speaking ColabFold's MMseqs2 API, asked exactly as
 * `boltz predict --use_msa_server` asks it for one protein chain: submit the sequence, poll
 * the ticket, download the result archive, and write Boltz's CSV from its A3M files.
 */
export class ColabFoldMsaClient implements MsaProvider {
  readonly #baseUrl: string;
  readonly #headers: Record<string, string>;
  readonly #pollIntervalMs: number;
  readonly #timeLimitMs: number;
  readonly #requestTimeoutMs: number;
  readonly #maxRetries: number;
  readonly #fetch: typeof fetch;

  constructor(options: ColabFoldMsaClientOptions) {
    if (!URL.canParse(options.url)) {
      throw new TypeError(`MSA server url must be an absolute URL, got ${JSON.stringify(options.url)}`);
    }
    // Boltz joins paths with "/", so a server below a path prefix keeps it.
    this.#baseUrl = options.url.replace(/\/+$/, '');
    this.#headers = { 'user-agent': options.userAgent ?? 'omtx-hub', ...authHeaders(options.auth) };
    this.#pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.#timeLimitMs = options.timeLimitMs ?? 3_600_000;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.#maxRetries = options.maxRetries ?? 5;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  async search(sequence: string, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    // Anything else would break the FASTA record the server parses.
    if (!/^[^\s>]+$/.test(sequence)) {
      throw new MsaServerError(
        `a protein sequence is one line of residue letters, got ${JSON.stringify(sequence.slice(0, 40))}`,
        false,
      );
    }
    const deadline = AbortSignal.timeout(this.#timeLimitMs);
    const run: Run = { signal: signal ? AbortSignal.any([signal, deadline]) : deadline, caller: signal, deadline };
    try {
      const id = await this.#awaitResult(sequence, run);
      const files = await this.#download(id, run);
      return unpairedMsaCsv(files);
    } catch (error) {
      if (run.caller?.aborted) throw run.caller.reason;
      if (run.deadline.aborted) {
        throw new MsaServerError(`the MSA server ${this.#baseUrl} gave no result within ${this.#timeLimitMs / 1000} s`, true);
      }
      if (error instanceof MalformedA3mError) {
        // The server keeps the result, so asking again returns the same files.
        throw new MsaServerError(
          `the MSA server ${this.#baseUrl} returned a result Boltz could not read: ${error.message}`,
          false,
        );
      }
      throw error;
    }
  }

  /** Submits until the server takes the job, then polls until it ends; the ticket id of a complete job. */
  async #awaitResult(sequence: string, run: Run): Promise<string> {
    const form = { q: `>${FIRST_QUERY_ID}\n${sequence}\n`, mode: MODE };
    const submit = () =>
      this.#exchange('ticket/msa', { method: 'POST', body: new URLSearchParams(form) }, run, (response) =>
        readTicket(response, true),
      );
    let ticket = await submit();
    while (RESUBMIT.has(ticket.status)) {
      await this.#pause(run);
      ticket = await submit();
    }
    while (IN_PROGRESS.has(ticket.status)) {
      const id = ticketId(ticket);
      await this.#pause(run);
      const polled = await this.#exchange(`ticket/${encodeURIComponent(id)}`, { method: 'GET' }, run, (r) =>
        readTicket(r, false),
      );
      ticket = { status: polled.status, id };
    }
    if (ticket.status === 'COMPLETE') return ticketId(ticket);
    if (ticket.status === 'ERROR') {
      throw new MsaServerError(
        'the MSA server could not search this sequence (status ERROR): check that it is a valid protein sequence; if it is, try again later',
        false,
      );
    }
    if (ticket.status === 'MAINTENANCE') {
      throw new MsaServerError(`the MSA server ${this.#baseUrl} is under maintenance; try again in a few minutes`, true);
    }
    throw new MsaServerError(
      `the MSA server ${this.#baseUrl} answered an unexpected status ${JSON.stringify(ticket.status)}`,
      true,
    );
  }

  /** The result archive's A3M files, in the order Boltz reads them. */
  async #download(id: string, run: Run): Promise<string[]> {
    return this.#exchange(`result/download/${encodeURIComponent(id)}`, { method: 'GET' }, run, async (response) => {
      if (!response.ok) return failure(response, await response.text(), false);
      try {
        return await readA3mFiles(new Uint8Array(await response.arrayBuffer()));
      } catch (error) {
        if (error instanceof MalformedA3mError) throw error;
        // A truncated or garbled transfer; another download may be whole.
        return new Transient(`unreadable result archive (${describe(error)})`);
      }
    });
  }

  /**
   * One request, attempted again after a network failure, a timeout, a 5xx or anything else
   * `read` calls {@link Transient}, up to `maxRetries` times; then a retryable error.
   */
  async #exchange<T>(
    path: string,
    init: RequestInit,
    run: Run,
    read: (response: Response) => Promise<T | Transient>,
  ): Promise<T> {
    const url = `${this.#baseUrl}/${path}`;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      try {
        const signal = AbortSignal.any([run.signal, AbortSignal.timeout(this.#requestTimeoutMs)]);
        const outcome = await read(await this.#fetch(url, { ...init, headers: this.#headers, signal }));
        if (!(outcome instanceof Transient)) return outcome;
        reason = outcome.reason;
      } catch (error) {
        if (run.signal.aborted || error instanceof MsaServerError || error instanceof MalformedA3mError) throw error;
        reason = describe(error);
      }
      if (attempt > this.#maxRetries) {
        throw new MsaServerError(`the MSA server at ${url} failed ${attempt} times, last with: ${reason}`, true);
      }
      await this.#pause(run);
    }
  }

  /** Waits 1–2× the poll interval; the jitter keeps many workers from polling in step. */
  async #pause(run: Run): Promise<void> {
    await sleep(this.#pollIntervalMs * (1 + Math.random()), undefined, { signal: run.signal });
  }
}

function authHeaders(auth: MsaServerAuth | undefined): Record<string, string> {
  if (auth?.type === 'basic') {
    return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }
  // Boltz also sends `Content-Type: application/json` with a key, although the body is a
  // form; we keep the form's own content type.
  if (auth?.type === 'header') return { [auth.header ?? 'X-API-Key']: auth.value };
  return {};
}

/**
 * The server's `{ status, id }`, whatever the HTTP status (rate limits come as 429 with a
 * RATELIMIT body); a reply without one is judged by its HTTP status.
 */
async function readTicket(response: Response, submitting: boolean): Promise<Ticket | Transient> {
  const text = await response.text();
  const body = parseJson(text);
  if (isTicket(body)) return body;
  return failure(response, text, submitting);
}

/** What a reply that is not the expected one means: try again, or stop with a reason. */
function failure(response: Response, text: string, submitting: boolean): Transient {
  const what = `HTTP ${response.status}${text ? `: ${text.slice(0, 200).trim()}` : ''}`;
  if (response.status >= 500 || response.status === 429) return new Transient(what);
  if (response.status === 401 || response.status === 403) {
    throw new MsaServerError(`the MSA server refused the credentials (${what}); check the MSA server auth settings`, false);
  }
  if (submitting && response.status >= 400) {
    throw new MsaServerError(
      `the MSA server rejected the search (${what}); check that the sequence is a valid protein sequence`,
      false,
    );
  }
  throw new MsaServerError(`the MSA server answered ${what} where a ticket or result was expected`, true);
}

function ticketId(ticket: Ticket): string {
  if (typeof ticket.id === 'string' && ticket.id !== '') return ticket.id;
  throw new MsaServerError(`the MSA server answered ${JSON.stringify(ticket)} without a ticket id`, true);
}

/** The A3M files Boltz reads, from the gzipped tar the server sends. */
async function readA3mFiles(archive: Uint8Array): Promise<string[]> {
  const contents = new Map<string, Promise<Buffer>>();
  await new Promise<void>((resolve, reject) => {
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry) => {
        const name = entry.path.replace(/^(\.\/)+/, '');
        // Later entries replace earlier ones, as when Boltz extracts the archive to disk.
        if (entry.type === 'File' && (A3M_FILES as readonly string[]).includes(name)) contents.set(name, entry.concat());
        else entry.resume();
      },
    });
    parser.on('error', reject);
    parser.on('end', resolve);
    parser.end(Buffer.from(archive.buffer, archive.byteOffset, archive.byteLength));
  });
  return Promise.all(
    A3M_FILES.map(async (name) => {
      const content = contents.get(name);
      if (!content) throw new MalformedA3mError(`the result archive holds no ${name}`);
      return (await content).toString('utf8');
    }),
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isTicket(body: unknown): body is Ticket {
  return typeof body === 'object' && body !== null && typeof (body as { status?: unknown }).status === 'string';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and keeps the reason (ECONNREFUSED, …) in `cause`.
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
