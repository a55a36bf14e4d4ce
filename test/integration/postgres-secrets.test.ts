import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerSecretSource } from '../../lambdas/adapters/aws/secrets-manager-secret-source.ts';
import { LocalSecretSource } from '../../lambdas/adapters/local/local-secret-source.ts';
import { MemorySecretSource } from '../../lambdas/adapters/memory/memory-secret-source.ts';
import type { PostgresTarget } from '../../lambdas/core/targets.ts';
import type { Clock, SecretSource } from '../../lambdas/ports.ts';
import { NetworkProber } from '../../lambdas/probes/network-prober.ts';
import { awsClientConfig, useMotoServer } from '../support/moto.ts';
import { usePostgresCluster } from '../support/postgres-cluster.ts';

/*
 * The PostgreSQL probe against a real PostgreSQL 15 cluster, its password from each place it can be kept: a pgpass
 * file, the environment, Secrets Manager (moto, through the adapter the probe Lambda uses) and a rotation in between.
 */

const clock: Clock = { now: () => Date.UTC(2026, 11, 3, 12, 0, 0) };
const OPTIONS = { timeoutMs: 5_000, slowAfterMs: 5_000 };
const ROLE = 'acgs_probe';
const DATABASE = 'acgs_pgp_db';
const moto = useMotoServer();
const pg = usePostgresCluster({ tempPrefix: 'acgs-pg-secrets-', databases: [DATABASE] });
let dir = '';
let secrets: SecretsManagerClient;
let secretCalls = 0;

beforeAll(async () => {
  dir = pg.root;
  await setPassword('first-password');
  secrets = new SecretsManagerClient(awsClientConfig(moto.endpoint));
  secrets.middlewareStack.add(
    (next) => async (args) => {
      secretCalls++;
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
});

async function sql(text: string): Promise<void> {
  await pg.sql('postgres', text);
}

/** Creates the probe's role, or changes its password (a rotation). */
async function setPassword(password: string): Promise<void> {
  await sql(
    `DO $$ BEGIN
       IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${ROLE}') THEN ALTER ROLE ${ROLE} PASSWORD '${password}';
       ELSE CREATE ROLE ${ROLE} LOGIN PASSWORD '${password}'; END IF;
     END $$`,
  );
}

function target(extra: Partial<PostgresTarget> = {}): PostgresTarget {
  return {
    id: 'postgresql:postgres@db',
    name: 'postgresql',
    kind: 'postgres',
    host: pg.cluster.host,
    port: pg.cluster.port,
    critical: true,
    role: 'dependency',
    database: DATABASE,
    user: ROLE,
    query: 'SELECT 1',
    ...extra,
  };
}

function pgpassFile(name: string, password: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, `# the probe's role\n${pg.cluster.host}:${pg.cluster.port}:${DATABASE}:${ROLE}:${password}\n`);
  chmodSync(file, mode);
  return file;
}

const probe = (source: SecretSource, t = target()) => new NetworkProber(clock, source).probe(t, OPTIONS);

describe('the PostgreSQL probe on one host', () => {
  it('connects with the password of the pgpass file PGPASSFILE names when the check names no variable', async () => {
    await setPassword('pgpass-password');
    const result = await probe(new LocalSecretSource({ PGPASSFILE: pgpassFile('pgpass', 'pgpass-password') }));
    expect(result).toMatchObject({ status: 'healthy' });
  });

  it('prefers the environment variable the check names to the pgpass file', async () => {
    await setPassword('env-password');
    const source = new LocalSecretSource({
      ACGS_DB_PASSWORD: 'env-password',
      PGPASSFILE: pgpassFile('pgpass-stale', 'stale'),
    });
    const result = await probe(source, target({ passwordEnv: 'ACGS_DB_PASSWORD' }));
    expect(result).toMatchObject({ status: 'healthy' });
  });

  it('reports a pgpass file others may read as the reason, without its password', async () => {
    await setPassword('open-password');
    const file = pgpassFile('pgpass-open', 'open-password', 0o644);
    const result = await probe(new LocalSecretSource({ PGPASSFILE: file }));
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'error' });
    expect(result.detail).toContain(`the pgpass file ${file}`);
    expect(result.detail).toContain('has mode 0644');
    expect(JSON.stringify(result)).not.toContain('open-password');
  });
});

describe('the PostgreSQL probe in AWS (Secrets Manager on moto)', () => {
  it('reads the secret once per cold start: two probes, one GetSecretValue', async () => {
    // Prepare
    await setPassword('secret-password');
    await secrets.send(
      new CreateSecretCommand({
        Name: 'acgs-1/postgres',
        SecretString: JSON.stringify({ username: ROLE, password: 'secret-password' }),
      }),
    );
    const source = new SecretsManagerSecretSource(secrets);
    const t = target({ passwordEnv: 'ACGS_DB_PASSWORD', passwordSecret: { id: 'acgs-1/postgres' } });
    const before = secretCalls;
    // Act
    const results = [await probe(source, t), await probe(source, t)];
    // Assess
    expect(results.map((r) => r.status)).toEqual(['healthy', 'healthy']);
    expect(secretCalls - before).toBe(1);
  });

  it('picks up a rotated password after the authentication failure, within the same probe', async () => {
    // Prepare: the Lambda has the old password cached; then the password is rotated in the database and the secret.
    await setPassword('before-rotation');
    await secrets.send(
      new CreateSecretCommand({
        Name: 'acgs-1/rotating',
        SecretString: JSON.stringify({ password: 'before-rotation' }),
      }),
    );
    const source = new SecretsManagerSecretSource(secrets);
    const t = target({ passwordSecret: { id: 'acgs-1/rotating' } });
    expect(await probe(source, t)).toMatchObject({ status: 'healthy' });
    await setPassword('after-rotation');
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: 'acgs-1/rotating',
        SecretString: JSON.stringify({ password: 'after-rotation' }),
      }),
    );
    const before = secretCalls;
    // Act
    const rotated = await probe(source, t);
    const next = await probe(source, t);
    // Assess: one fresh read after the refusal (SQLSTATE 28P01), then the cache again.
    expect(rotated).toMatchObject({ status: 'healthy' });
    expect(next).toMatchObject({ status: 'healthy' });
    expect(secretCalls - before).toBe(1);
  });

  it('reports a wrong password clearly, after one fresh read and no second attempt, and never shows it', async () => {
    // Prepare
    await setPassword('the-real-one');
    const source = new MemorySecretSource({ 'acgs-1/wrong': JSON.stringify({ password: 'hunter2-wrong' }) });
    // Act
    const result = await probe(source, target({ passwordSecret: { id: 'acgs-1/wrong' } }));
    // Assess
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'query' });
    expect(result.detail).toBe(
      `authentication as "${ROLE}" failed on ${pg.cluster.host}:${pg.cluster.port}: password authentication failed for user "${ROLE}"`,
    );
    expect(source.reads.map((r) => r.fresh)).toEqual([false, true]);
    expect(JSON.stringify(result)).not.toContain('hunter2-wrong');
  });

  it('says which secret it could not read when Secrets Manager refuses, without trying to connect blind', async () => {
    const result = await probe(
      new SecretsManagerSecretSource(secrets),
      target({ passwordSecret: { id: 'acgs-1/never-created' } }),
    );
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'error' });
    expect(result.detail).toMatch(
      /^cannot get the password for "acgs_probe" on .*: cannot read secret acgs-1\/never-created \(the password of check "postgresql" \(acgs_probe@acgs_pgp_db\)\): ResourceNotFoundException/,
    );
  });

  it('says the check names no secret when a Lambda has none to read', async () => {
    await setPassword('needed');
    const result = await probe(new SecretsManagerSecretSource(secrets), target({ passwordEnv: 'ACGS_DB_PASSWORD' }));
    expect(result).toMatchObject({ status: 'unhealthy', reason: 'query' });
    expect(result.detail).toContain('requires a password for "acgs_probe"');
    expect(result.detail).toContain('environment variable ACGS_DB_PASSWORD is not set');
  });
});
