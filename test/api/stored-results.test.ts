import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { at, buildJob, buildResult } from '../../src/ports/testing/records.js';
import { startTestServer, type TestServer } from '../support/server.js';

// Records written by an earlier version of OMTX-Hub must still read: a VINA result stored
// before Boltz-2's two affinity heads were kept has no `heads`.

describe('a result stored before affinity heads existed', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('reads with an empty list of heads', async () => {
    const job = buildJob({ owner: 'local', model: 'VINA' });
    await server.app.jobs.createJob(job);
    await server.app.jobs.markQueued([job.id], at(1));
    const claim = await server.app.jobs.claim(job.id, at(2), 60_000);
    expect(claim.claimed).toBe(true);
    const { heads: _dropped, ...old } = buildResult().affinity!;
    await server.app.jobs.complete(job.id, 1, { ...buildResult(), affinity: old as never }, at(3));

    const { data, errors } = await server.request(
      `query ($id: ID!) { job(id: $id) { result { affinity { value unit heads { value } } } } }`,
      { id: job.id },
    );
    expect(errors).toBeUndefined();
    expect((data as { job: { result: { affinity: unknown } } }).job.result.affinity).toEqual({
      value: old.value,
      unit: old.unit,
      heads: [],
    });
  });
});
