import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from './support/server.js';

// GraphiQL in a real headless Chromium against the real server: proves the page
// loads with no network beyond our origin, runs queries over HTTP and
// subscriptions over graphql-ws on the same /graphql path.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const projectRoot = fileURLToPath(new URL('..', import.meta.url));

// GraphiQL (CodeMirror 5) keeps each editor instance on its wrapper element.
const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const RESPONSE = '.graphiql-response .CodeMirror';
// Headless pages may throttle requestAnimationFrame; poll on a timer instead.
const POLL = { polling: 50, timeout: 15_000 } as const;

let server: Awaited<ReturnType<typeof startTestServer>>;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    // Fail, never skip: a silently skipped browser test proves nothing.
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. Install it with: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
  }
  if (!existsSync(`${projectRoot}/dist/graphiql/graphiql.js`)) {
    execFileSync(process.execPath, ['scripts/build-graphiql.mjs'], { cwd: projectRoot, stdio: 'inherit' });
  }
  server = await startTestServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens GraphiQL and fails on any request that leaves the server's origin. */
async function openGraphiql(): Promise<{ page: Page; foreignRequests: string[]; pageErrors: string[] }> {
  const page = await browser.newPage();
  const origin = new URL(server.url).origin;
  const foreignRequests: string[] = [];
  const pageErrors: string[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol !== 'data:' && url.origin !== origin) foreignRequests.push(request.url());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const response = await page.goto(`${server.url}/graphql`);
  expect(response?.status()).toBe(200);
  expect(response?.headers()['content-type']).toMatch(/^text\/html/);
  await page.waitForSelector(QUERY_EDITOR);
  return { page, foreignRequests, pageErrors };
}

/** Replaces the query and waits until GraphiQL has parsed it (it re-parses 100 ms after an edit). */
async function setQuery(page: Page, query: string): Promise<void> {
  await page.evaluate(
    ([selector, text]) => {
      (document.querySelector(selector!) as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror.setValue(text!);
    },
    [QUERY_EDITOR, query],
  );
  await page.waitForFunction(
    ([selector, text]) => {
      const editor = (
        document.querySelector(selector!) as unknown as { CodeMirror: { documentAST?: { loc?: { source: { body: string } } } } }
      ).CodeMirror;
      return editor.documentAST?.loc?.source.body === text;
    },
    [QUERY_EDITOR, query],
    POLL,
  );
}

/** Clicks Run and returns the result panel's text once it is non-empty. */
async function runAndReadResult(page: Page): Promise<string> {
  await page.click('.graphiql-execute-button');
  const handle = await page.waitForFunction(
    (selector) => {
      const value = (
        document.querySelector(selector) as unknown as { CodeMirror: { getValue(): string } } | null
      )?.CodeMirror.getValue();
      return value ? value : false;
    },
    RESPONSE,
    POLL,
  );
  return (await handle.jsonValue()) as string;
}

describe('GraphiQL at GET /graphql', () => {
  it('runs a query from the browser and shows the JSON answer in the result panel', async () => {
    const { page, foreignRequests, pageErrors } = await openGraphiql();
    try {
      await setQuery(page, '{ __typename }');
      const result = await runAndReadResult(page);
      // Every response reports the query's cost and the budget left (the rate-limit work).
      expect(JSON.parse(result)).toEqual({
        data: { __typename: 'Query' },
        extensions: { cost: { requested: 1, remaining: expect.any(Number), resetAt: expect.any(String) } },
      });

      await setQuery(page, 'query { models { name } }');
      // Clear the panel so the next read cannot return the previous answer.
      await page.evaluate((selector) => {
        (document.querySelector(selector) as unknown as { CodeMirror: { setValue(v: string): void } }).CodeMirror.setValue('');
      }, RESPONSE);
      const models = JSON.parse(await runAndReadResult(page)) as { data: { models: Array<{ name: unknown }> } };
      expect(Array.isArray(models.data.models)).toBe(true);
      for (const model of models.data.models) expect(typeof model.name).toBe('string');

      expect(foreignRequests).toEqual([]);
      expect(pageErrors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('runs a subscription over graphql-ws on the same /graphql path', async () => {
    const { page } = await openGraphiql();
    try {
      const socketUrls: string[] = [];
      // What the server answered over the socket, shaped as GraphiQL shows it: a
      // `next` payload as is, an `error` message's GraphQL errors as { errors }.
      const socketAnswers: unknown[] = [];
      page.on('websocket', (socket) => {
        socketUrls.push(socket.url());
        socket.on('framereceived', ({ payload }) => {
          const message = JSON.parse(String(payload)) as { type: string; payload?: unknown };
          if (message.type === 'next') socketAnswers.push(message.payload);
          if (message.type === 'error') socketAnswers.push({ errors: message.payload });
        });
      });

      // The job need not exist: NOT_FOUND also travels over the socket, and the
      // socket is what this test is about.
      await setQuery(page, 'subscription { jobUpdated(id: "graphiql-test-job") { id status } }');
      const result = JSON.parse(await runAndReadResult(page)) as unknown;

      const wsUrl = new URL(server.url);
      wsUrl.protocol = 'ws:';
      expect(socketUrls).toEqual([new URL('/graphql', wsUrl).href]);
      expect(socketAnswers).toContainEqual(result);
      // No pageErrors check here: for a graphql-ws `error` message GraphiQL 3 shows
      // the errors and also leaves an unhandled rejection in the page.
    } finally {
      await page.close();
    }
  });
});
