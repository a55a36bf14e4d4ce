import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretSource } from '../../../lambdas/adapters/aws/secrets-manager-secret-source.ts';
import { SecretError } from '../../../lambdas/core/errors.ts';
import type { SecretRequest } from '../../../lambdas/ports.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';

const moto = useMotoServer();
let client: SecretsManagerClient;
/** Counts the GetSecretValue calls that reach moto. */
let calls = 0;

beforeAll(() => {
  client = new SecretsManagerClient(awsClientConfig(moto.endpoint));
  client.middlewareStack.add(
    (next) => async (args) => {
      calls++;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
});

async function createSecret(name: string, value: string): Promise<string> {
  const created = await new SecretsManagerClient(awsClientConfig(moto.endpoint)).send(
    new CreateSecretCommand({ Name: name, SecretString: value }),
  );
  return created.ARN ?? '';
}

const rotate = (id: string, value: string) =>
  new SecretsManagerClient(awsClientConfig(moto.endpoint)).send(
    new PutSecretValueCommand({ SecretId: id, SecretString: value }),
  );

const request = (id: string, field?: string): SecretRequest => ({
  purpose: 'the password of check "postgresql"',
  env: 'ACGS_DB_PASSWORD',
  secret: { id, ...(field === undefined ? {} : { field }) },
});

describe('SecretsManagerSecretSource on moto', () => {
  it('reads the password field of a JSON secret once, then answers from its cache', async () => {
    // Prepare
    await createSecret('acgs-1/postgres', JSON.stringify({ username: 'acgs_user', password: 'first' }));
    const source = new SecretsManagerSecretSource(client);
    const before = calls;
    // Act
    const values = [
      await source.get(request('acgs-1/postgres')),
      await source.get(request('acgs-1/postgres')),
      await source.get(request('acgs-1/postgres', 'username')),
    ];
    // Assess
    expect(values).toEqual(['first', 'first', 'acgs_user']);
    expect(calls - before).toBe(1);
  });

  it('keeps the cached value after a rotation until asked for a fresh one (after an authentication failure)', async () => {
    // Prepare
    await createSecret('acgs-1/rotated', JSON.stringify({ password: 'before-rotation' }));
    const source = new SecretsManagerSecretSource(client);
    expect(await source.get(request('acgs-1/rotated'))).toBe('before-rotation');
    await rotate('acgs-1/rotated', JSON.stringify({ password: 'after-rotation' }));
    // Act
    const cached = await source.get(request('acgs-1/rotated'));
    const fresh = await source.get(request('acgs-1/rotated'), { fresh: true });
    const afterwards = await source.get(request('acgs-1/rotated'));
    // Assess
    expect([cached, fresh, afterwards]).toEqual(['before-rotation', 'after-rotation', 'after-rotation']);
  });

  it('shares one call among concurrent reads, fresh ones included', async () => {
    // Prepare
    await createSecret('acgs-1/busy', 'plain-value');
    const source = new SecretsManagerSecretSource(client);
    const before = calls;
    // Act
    const values = await Promise.all([
      source.get(request('acgs-1/busy')),
      source.get(request('acgs-1/busy'), { fresh: true }),
      source.get(request('acgs-1/busy')),
    ]);
    // Assess
    expect(values).toEqual(['plain-value', 'plain-value', 'plain-value']);
    expect(calls - before).toBe(1);
  });

  it('reads a secret by its ARN, and takes a plain string whole', async () => {
    const arn = await createSecret('acgs-1/by-arn', 'whole-string');
    expect(await new SecretsManagerSecretSource(client).get(request(arn))).toBe('whole-string');
  });

  it('says which secret it cannot read, never caches the failure, and reads nothing without a secret', async () => {
    // Prepare
    const source = new SecretsManagerSecretSource(client);
    // Act and assess
    await expect(source.get(request('acgs-1/missing'))).rejects.toThrow(SecretError);
    await expect(source.get(request('acgs-1/missing'))).rejects.toThrow(
      /^cannot read secret acgs-1\/missing \(the password of check "postgresql"\): ResourceNotFoundException: /,
    );
    await createSecret('acgs-1/missing', 'now-there');
    expect(await source.get(request('acgs-1/missing'))).toBe('now-there');
    // The environment variable is the single host's: the AWS source never consults it.
    expect(await source.get({ purpose: 'x', env: 'PATH' })).toBeUndefined();
  });

  it('names the missing field of a JSON secret without showing its value', async () => {
    await createSecret('acgs-1/no-field', JSON.stringify({ username: 'acgs_user', pass: 'hunter2' }));
    const reading = new SecretsManagerSecretSource(client).get(request('acgs-1/no-field'));
    await expect(reading).rejects.toThrow('secret acgs-1/no-field is JSON without a non-empty string field "password"');
    await expect(reading).rejects.not.toThrow(/hunter2/);
  });
});
