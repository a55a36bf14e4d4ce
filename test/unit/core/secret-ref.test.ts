import { describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { SecretError } from '../../../lambdas/core/errors.ts';
import { secretRefSchema, secretResourceArn, secretValue } from '../../../lambdas/core/secret-ref.ts';
import { SHIPPED_CONFIG } from '../../support/shipped-config.ts';

const SCOPE = { partition: 'aws', region: 'eu-west-1', account: '123456789012' };

describe('secretValue', () => {
  it('takes a plain secret whole when no field is named', () => {
    expect(secretValue('s3cret', { id: 'acgs-1/postgres' })).toBe('s3cret');
  });

  it('takes the password field of a JSON secret as RDS and rotation write it, or the field named', () => {
    const raw = JSON.stringify({ engine: 'postgres', username: 'acgs_user', password: 'p"w\\d' });
    expect(secretValue(raw, { id: 'acgs-1/postgres' })).toBe('p"w\\d');
    expect(secretValue(raw, { id: 'acgs-1/postgres', field: 'username' })).toBe('acgs_user');
  });

  it('names the secret and the field, never the value, when the field is missing or the secret is not JSON', () => {
    const raw = JSON.stringify({ username: 'acgs_user', pass: 'hunter2' });
    expect(() => secretValue(raw, { id: 'acgs-1/postgres' })).toThrow(SecretError);
    expect(() => secretValue(raw, { id: 'acgs-1/postgres' })).toThrow(
      'secret acgs-1/postgres is JSON without a non-empty string field "password" (fields: pass, username)',
    );
    expect(() => secretValue('hunter2', { id: 'x', field: 'password' })).toThrow(
      'secret x is not a JSON object, but the config names its field "password"',
    );
    try {
      secretValue(raw, { id: 'acgs-1/postgres' });
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });
});

describe('secretRefSchema', () => {
  it('takes a name, a full ARN, a field and a KMS key ARN', () => {
    const ref = {
      id: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acgs-1/postgres-AbCdEf',
      field: 'password',
      kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    };
    expect(secretRefSchema.parse(ref)).toEqual(ref);
    expect(secretRefSchema.parse({ id: 'acgs-1/postgres' })).toEqual({ id: 'acgs-1/postgres' });
  });

  it.each([
    [{ id: "acgs'1" }, 'id'],
    [{ id: 'a'.repeat(513) }, 'id'],
    [{ id: 'arn:aws:secretsmanager:eu-west-1:1234:secret:x' }, 'id'],
    [{ id: 'x', field: 'pass word' }, 'field'],
    [{ id: 'x', kmsKeyArn: 'alias/aws/secretsmanager' }, 'kmsKeyArn'],
    [{ id: 'x', value: 'hunter2' }, ''],
  ])('refuses %j, naming the field', (ref, field) => {
    const parsed = secretRefSchema.safeParse(ref);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path.join('.') ?? '').toBe(field);
  });

  it('is how a postgres check names its secret, next to passwordEnv, with problems naming the field', () => {
    const parsed = parseFleetConfig(
      SHIPPED_CONFIG.replace('passwordSecret: { id: acgs-1/postgres }', 'passwordSecret: { id: "a b" }'),
    );
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems.map((p) => p.path)).toContain('checks.0.passwordSecret.id');
  });
});

describe('secretResourceArn', () => {
  it('grants a named secret with the six-character suffix Secrets Manager appends, and an ARN as given', () => {
    expect(secretResourceArn('acgs-1/postgres', SCOPE)).toBe(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acgs-1/postgres-??????',
    );
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acgs-1/postgres-AbCdEf';
    expect(secretResourceArn(arn, SCOPE)).toBe(arn);
  });
});
