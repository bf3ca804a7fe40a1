import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('the MSA server settings', () => {
  it('are off unless a URL is given, and the BOLTZ2 residue limit defaults to an L4’s', () => {
    const config = loadConfig({});
    expect(config.msaServerUrl).toBeNull();
    expect(config.msaServerAuth).toBeNull();
    expect(config.boltzMaxResidues).toBe(1300);
  });

  it('take basic auth or an API key in a header, as Boltz does', () => {
    const url = 'https://msa.example.org/api';
    expect(
      loadConfig({ OMTX_MSA_SERVER_URL: url, OMTX_MSA_SERVER_USERNAME: 'u', OMTX_MSA_SERVER_PASSWORD: 'p' }).msaServerAuth,
    ).toEqual({
      type: 'basic',
      username: 'u',
      password: 'p',
    });
    expect(loadConfig({ OMTX_MSA_SERVER_URL: url, OMTX_MSA_SERVER_API_KEY: 'k' }).msaServerAuth).toEqual({
      type: 'header',
      value: 'k',
      header: 'X-API-Key',
    });
  });

  it('refuse both kinds at once, half a basic pair, and a URL that is not one', () => {
    expect(() =>
      loadConfig({ OMTX_MSA_SERVER_USERNAME: 'u', OMTX_MSA_SERVER_PASSWORD: 'p', OMTX_MSA_SERVER_API_KEY: 'k' }),
    ).toThrow(/not both/);
    expect(() => loadConfig({ OMTX_MSA_SERVER_USERNAME: 'u' })).toThrow(/go together/);
    expect(() => loadConfig({ OMTX_MSA_SERVER_URL: 'colabfold' })).toThrow(ConfigError);
    expect(() => loadConfig({ OMTX_MSA_SERVER_URL: 'colabfold' })).toThrow(/OMTX_MSA_SERVER_URL="colabfold"/);
  });
});

describe('the backend', () => {
  const gcp = {
    OMTX_BACKEND: 'gcp',
    OMTX_GCP_PROJECT: 'omtx-prod',
    OMTX_GCS_BUCKET: 'omtx-prod-artifacts',
    OMTX_TASKS_LOCATION: 'europe-west4',
    OMTX_TASKS_QUEUE: 'omtx-worker',
    OMTX_TASKS_SERVICE_ACCOUNT: 'omtx-tasks@omtx-prod.iam.gserviceaccount.com',
    OMTX_WEBHOOK_SECRET: 'w'.repeat(32),
  };

  it('is the embedded default unless OMTX_BACKEND=gcp', () => {
    expect(loadConfig({}).gcp).toBeNull();
    expect(loadConfig({ OMTX_BACKEND: 'local', OMTX_GCS_BUCKET: 'ignored-bucket' }).gcp).toBeNull();
  });

  it('reads the Google Cloud settings, with Firestore’s default database and a 30-minute dispatch deadline', () => {
    expect(loadConfig(gcp).gcp).toEqual({
      projectId: 'omtx-prod',
      databaseId: '(default)',
      bucket: 'omtx-prod-artifacts',
      signingKeyFile: null,
      tasks: {
        location: 'europe-west4',
        queue: 'omtx-worker',
        serviceAccountEmail: 'omtx-tasks@omtx-prod.iam.gserviceaccount.com',
        audience: null,
        dispatchDeadlineSeconds: 1800,
        emulatorHost: null,
      },
    });
  });

  it('names every missing Google Cloud setting at once', () => {
    const attempt = () => loadConfig({ OMTX_BACKEND: 'gcp', OMTX_WEBHOOK_SECRET: 'w'.repeat(32) });
    expect(attempt).toThrow(ConfigError);
    for (const name of [
      'OMTX_GCP_PROJECT',
      'OMTX_GCS_BUCKET',
      'OMTX_TASKS_LOCATION',
      'OMTX_TASKS_QUEUE',
      'OMTX_TASKS_SERVICE_ACCOUNT',
    ]) {
      expect(attempt).toThrow(new RegExp(`${name} is required when OMTX_BACKEND=gcp`));
    }
  });

  it('needs no OIDC service account against the Cloud Tasks emulator', () => {
    const { OMTX_TASKS_SERVICE_ACCOUNT: _, ...rest } = gcp;
    expect(loadConfig({ ...rest, OMTX_TASKS_EMULATOR_HOST: '127.0.0.1:8123' }).gcp?.tasks?.serviceAccountEmail).toBeNull();
  });

  it('refuses a Google Cloud api without a shared webhook secret, and an unknown backend', () => {
    const { OMTX_WEBHOOK_SECRET: _, ...rest } = gcp;
    expect(() => loadConfig(rest)).toThrow(/OMTX_WEBHOOK_SECRET is required when OMTX_BACKEND=gcp/);
    expect(() => loadConfig({ OMTX_BACKEND: 'aws' })).toThrow(/OMTX_BACKEND="aws"/);
  });
});
