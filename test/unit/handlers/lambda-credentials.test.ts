import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../../lambdas/handlers/lambda-credentials.ts';

/** The credential chain a Lambda bundle gets: the environment, where Lambda puts the execution role's credentials. */
describe('Lambda credentials', () => {
  afterEach(() => vi.unstubAllEnvs());

  it("reads the execution role's credentials from the environment, as Lambda sets them", async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token-example');
    // Act
    const credentials = await defaultProvider()();
    // Assess
    expect(credentials).toMatchObject({
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret-example',
      sessionToken: 'token-example',
    });
  });

  it('fails naming what is missing when the environment holds no credentials, never falling back elsewhere', async () => {
    // Prepare
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    vi.stubEnv('AWS_PROFILE', 'default');
    // Act / Assess
    await expect(defaultProvider()()).rejects.toThrow(/environment/i);
  });
});
