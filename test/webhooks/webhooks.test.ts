import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { startTestWorker, type TestWorker } from '../support/test-worker.js';
import { ligands, vinaProtein } from '../support/inputs.js';
import { startReceiver, verifySignature, type Receiver } from './receiver.js';
import {
  BatchCountDocument,
  BatchWebhookDeliveriesDocument,
  ViewerWebhookSecretDocument,
  WebhookSubmitBatchDocument,
  type SubmitBatchInput,
} from '../../schema/__generated__/graphql.js';

const batchInput = (webhookUrl: string, n = 6): SubmitBatchInput => ({
  model: 'VINA',
  name: 'hooked screen',
  protein: vinaProtein(),
  ligands: ligands(n),
  webhookUrl,
});

/** Lets a few polls of the dispatcher (every 20 ms here) go by, to see that nothing more is sent. */
const severalPolls = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('batch webhooks over HTTP', () => {
  let server: TestServer;
  let worker: TestWorker;
  let receiver: Receiver;
  let secret = '';

  beforeAll(async () => {
    receiver = await startReceiver(() => secret);
    worker = await startTestWorker(() => server.app.jobs);
    server = await startTestServer({
      OMTX_WORKER_URL: worker.url,
      OMTX_SHARD_SIZE: '2',
      OMTX_WEBHOOK_ALLOW_PRIVATE: 'true',
      OMTX_WEBHOOK_POLL_SECONDS: '0.02',
      OMTX_WEBHOOK_BACKOFF_SECONDS: '0.05',
    });
    const { data } = await server.request(ViewerWebhookSecretDocument, {});
    secret = data!.viewer.webhookSigningSecret;
  });
  afterAll(async () => {
    await server.close();
    await worker.close();
    await receiver.close();
  });

  async function submit(input: SubmitBatchInput): Promise<string> {
    const { data, errors } = await server.request(WebhookSubmitBatchDocument, { input });
    expect(errors).toBeUndefined();
    expect(data!.submitBatch.batch.webhookUrl).toBe(input.webhookUrl);
    return data!.submitBatch.batch.id;
  }

  async function deliveries(id: string) {
    const { data, errors } = await server.request(BatchWebhookDeliveriesDocument, { id });
    expect(errors).toBeUndefined();
    return data!.batch!;
  }

  it('shows each user one signing secret', async () => {
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const { data } = await server.request(ViewerWebhookSecretDocument, {});
    expect(data!.viewer.webhookSigningSecret).toBe(secret);
  });

  it('POSTs once for a whole batch, signed, with its final counters', async () => {
    receiver.received.length = 0;
    const id = await submit(batchInput(receiver.url));
    const [post] = await receiver.until(1);
    await severalPolls();
    expect(receiver.received).toHaveLength(1);

    expect(post!.signatureValid).toBe(true);
    expect(post!.headers['content-type']).toBe('application/json');
    expect(post!.headers['x-omtx-event']).toBe('batch.completed');
    expect(post!.json).toMatchObject({
      id: post!.headers['x-omtx-delivery'],
      event: 'batch.completed',
      batch: {
        id,
        name: 'hooked screen',
        status: 'COMPLETED',
        progress: { total: 6, completed: 6, failed: 0, cancelled: 0, pending: 0, queued: 0, running: 0, percent: 100 },
        usage: { runtimeSeconds: 0, gpuSeconds: 0, costUsd: 0 },
      },
    });
    expect(Date.parse((post!.json as { deliveredAt: string }).deliveredAt)).not.toBeNaN();
    expect(post!.headers['x-omtx-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // Another user's secret does not verify it.
    const otherSecret = server.app.webhookSigningSecret('someone-else');
    expect(otherSecret).toMatch(/^whsec_/);
    expect(otherSecret).not.toBe(secret);
    expect(verifySignature(otherSecret, post!.headers, post!.body)).toBe(false);

    const batch = await deliveries(id);
    expect(batch.status).toBe('COMPLETED');
    expect(batch.webhookDeliveries).toEqual([
      expect.objectContaining({
        deliveryId: post!.headers['x-omtx-delivery'],
        event: 'batch.completed',
        attempt: 1,
        status: 'DELIVERED',
        responseStatus: 200,
        error: null,
        nextAttemptAt: null,
      }),
    ]);
  });

  it('retries after a 500 with the same delivery id, then logs both attempts', async () => {
    receiver.received.length = 0;
    receiver.answer([500]);
    const id = await submit(batchInput(receiver.url, 2));
    const [first, second] = await receiver.until(2);
    await severalPolls();
    expect(receiver.received).toHaveLength(2);
    expect(second!.headers['x-omtx-delivery']).toBe(first!.headers['x-omtx-delivery']);
    expect([first!.headers['x-omtx-attempt'], second!.headers['x-omtx-attempt']]).toEqual(['1', '2']);
    expect(first!.signatureValid && second!.signatureValid).toBe(true);

    const log = (await deliveries(id)).webhookDeliveries;
    expect(log).toEqual([
      expect.objectContaining({ attempt: 1, status: 'FAILED', responseStatus: 500, error: 'the receiver answered HTTP 500' }),
      expect.objectContaining({ attempt: 2, status: 'DELIVERED', responseStatus: 200, error: null, nextAttemptAt: null }),
    ]);
    expect(Date.parse(log[0]!.nextAttemptAt!)).toBeGreaterThan(Date.parse(log[0]!.at));
  });

  it('does not follow a redirect: the 3xx is a failed attempt, retried at the same URL', async () => {
    receiver.received.length = 0;
    receiver.answer([302]);
    const id = await submit(batchInput(receiver.url, 2));
    const [first, second] = await receiver.until(2);
    await severalPolls();
    expect(receiver.received.map((r) => r.path)).toEqual(['/hooks/omtx', '/hooks/omtx']);
    expect(second!.headers['x-omtx-delivery']).toBe(first!.headers['x-omtx-delivery']);
    expect((await deliveries(id)).webhookDeliveries).toEqual([
      expect.objectContaining({ attempt: 1, status: 'FAILED', responseStatus: 302, error: 'the receiver answered HTTP 302' }),
      expect.objectContaining({ attempt: 2, status: 'DELIVERED', responseStatus: 200 }),
    ]);
  });

  it('sends batch.cancelled for a cancelled batch', async () => {
    receiver.received.length = 0;
    worker.setHandler(() => new Promise(() => {})); // never finishes: the batch is cancelled while it runs
    const id = await submit(batchInput(receiver.url, 3));
    await server.app.jobs.cancelBatch('local', id, new Date());
    const [post] = await receiver.until(1);
    expect(post!.json).toMatchObject({ event: 'batch.cancelled', batch: { id, status: 'CANCELLED' } });
    expect(post!.signatureValid).toBe(true);
  });
});

describe('webhook URLs that could reach inside the network', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.close());

  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook', /private, loopback or link-local address \(127\.0\.0\.1\)/],
    ['a private network', 'https://10.1.2.3/hook', /private, loopback or link-local address \(10\.1\.2\.3\)/],
    ['the metadata service', 'http://169.254.169.254/latest/meta-data/', /link-local address \(169\.254\.169\.254\)/],
    ['IPv6 loopback', 'http://[::1]:8080/hook', /private, loopback or link-local address \(::1\)/],
    ['an IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/hook', /private, loopback or link-local/],
    ['a name resolving to loopback', 'http://localhost:8080/hook', /^host localhost resolves to a private or loopback address$/],
    ['an IPv4-translated loopback', 'http://[::ffff:0:7f00:1]/hook', /private, loopback or link-local address/],
    ['a Teredo address', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook', /private, loopback or link-local address/],
    ['the metadata name', 'http://metadata.google.internal/computeMetadata/v1/', /metadata service/],
    ['another scheme', 'file:///etc/passwd', /must use http or https, not file/],
    ['credentials', 'https://user:pw@example.org/hook', /must not carry credentials/],
    ['not a URL', 'hooks please', /absolute http or https URL/],
  ])('refuses %s at submit with BAD_USER_INPUT on input.webhookUrl, writing nothing', async (_what, url, message) => {
    const response = await server.request(WebhookSubmitBatchDocument, { input: batchInput(url, 2) });
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      invalid: [{ path: ['input', 'webhookUrl'], message: expect.stringMatching(message) }],
    });
    const { data } = await server.request(BatchCountDocument, {});
    expect(data!.batches.edges).toHaveLength(0);
  });

  it('reports a bad webhook URL together with every other problem of the submission', async () => {
    const input = { ...batchInput('http://127.0.0.1/hook', 2), maxConcurrent: 0, ligands: [{ smiles: 'C1CC' }] };
    const response = await server.request(WebhookSubmitBatchDocument, { input });
    expect(response.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    const paths = (response.errors![0]!.extensions!.invalid as { path: (string | number)[] }[]).map((p) => p.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['input.maxConcurrent', 'input.webhookUrl', 'input.ligands.0.smiles']));
  });
});
