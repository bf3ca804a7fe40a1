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
