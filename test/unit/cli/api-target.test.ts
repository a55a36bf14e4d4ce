import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerError, apiTarget } from '../../../lambdas/cli/api-target.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('apiTarget', () => {
  it('is local by default, and aws with a URL and region from the flags or the environment', () => {
    expect(apiTarget({})).toEqual({ kind: 'local' });
    expect(apiTarget({ target: 'aws', url: 'https://a.lambda-url.eu-west-1.on.aws/', region: 'eu-west-1' })).toEqual({
      kind: 'aws',
      url: 'https://a.lambda-url.eu-west-1.on.aws/',
      region: 'eu-west-1',
    });
    vi.stubEnv('ACGS_OPERATOR_URL', 'https://b.example/');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    expect(apiTarget({ target: 'aws' })).toEqual({ kind: 'aws', url: 'https://b.example/', region: 'us-east-1' });
  });

  it('refuses an unknown target, aws without URL or region, and --by with aws, naming the flag', () => {
    vi.stubEnv('ACGS_OPERATOR_URL', '');
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    expect(() => apiTarget({ target: 'gcp' })).toThrow('--target must be local or aws, got "gcp"');
    expect(() => apiTarget({ target: 'aws' })).toThrow(/--target aws needs --url/);
    expect(() => apiTarget({ target: 'aws', url: 'https://x/' })).toThrow(/--target aws needs --region/);
    expect(() => apiTarget({ target: 'aws', url: 'https://x/', region: 'eu-west-1', by: 'mallory' })).toThrow(
      /--by is for --target local/,
    );
  });
});

describe('answerError', () => {
  it("is the body's error, else the status", () => {
    expect(answerError({ statusCode: 400, body: { error: 'name: must be a service name' } })).toBe(
      'name: must be a service name',
    );
    expect(answerError({ statusCode: 502, body: 'Bad Gateway' })).toBe('operator API answered HTTP 502');
  });
});
