import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalSecretSource } from '../../../../lambdas/adapters/local/local-secret-source.ts';
import { SecretError } from '../../../../lambdas/core/errors.ts';
import type { SecretRequest } from '../../../../lambdas/ports.ts';

const REQUEST: SecretRequest = {
  purpose: 'the password of check "postgresql"',
  env: 'ACGS_DB_PASSWORD',
  secret: { id: 'acgs-1/postgres' },
  pgpass: { host: '127.0.0.1', port: 5432, database: 'acgs_pgp_db', user: 'acgs_user' },
};

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'acgs-pgpass-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function pgpass(text: string, mode = 0o600): string {
  const file = join(dir, 'pgpass');
  writeFileSync(file, text);
  chmodSync(file, mode);
  return file;
}

describe('LocalSecretSource', () => {
  it('reads the environment variable the config names first', async () => {
    const file = pgpass('*:*:*:*:from-file\n');
    const source = new LocalSecretSource({ ACGS_DB_PASSWORD: 'from-env', PGPASSFILE: file });
    expect(await source.get(REQUEST)).toBe('from-env');
  });

  it('falls back to the pgpass file PGPASSFILE names when the variable is unset or empty', async () => {
    const file = pgpass('127.0.0.1:5432:acgs_pgp_db:acgs_user:from-file\n');
    expect(await new LocalSecretSource({ PGPASSFILE: file }).get(REQUEST)).toBe('from-file');
    expect(await new LocalSecretSource({ PGPASSFILE: file, ACGS_DB_PASSWORD: '' }).get(REQUEST)).toBe('from-file');
  });

  it('reads ~/.pgpass when PGPASSFILE is not set, and sees an edited file at once', async () => {
    const file = join(dir, '.pgpass');
    writeFileSync(file, '*:*:*:acgs_user:old\n', { mode: 0o600 });
    const source = new LocalSecretSource({}, { homeDirectory: dir });
    expect(await source.get(REQUEST)).toBe('old');
    writeFileSync(file, '*:*:*:acgs_user:new\n');
    expect(await source.get(REQUEST, { fresh: true })).toBe('new');
  });

  it('gives undefined when there is no variable, no file and no matching line', async () => {
    expect(await new LocalSecretSource({}, { homeDirectory: dir }).get(REQUEST)).toBeUndefined();
    const file = pgpass('127.0.0.1:5432:other_db:acgs_user:x\n');
    expect(await new LocalSecretSource({ PGPASSFILE: file }).get(REQUEST)).toBeUndefined();
    expect(await new LocalSecretSource({ PGPASSFILE: file }).get({ purpose: 'a token', env: 'TOKEN' })).toBeUndefined();
  });

  it('refuses a pgpass file its group or others can read, saying so and how to fix it', async () => {
    const file = pgpass('*:*:*:*:world-readable-secret\n', 0o644);
    const source = new LocalSecretSource({ PGPASSFILE: file });
    await expect(source.get(REQUEST)).rejects.toThrow(SecretError);
    await expect(source.get(REQUEST)).rejects.toThrow(
      `the pgpass file ${file} (for the password of check "postgresql") has mode 0644: its group or others may read it, so libpq ignores it and so does acgs-ops; chmod 0600 it`,
    );
    await expect(source.get(REQUEST)).rejects.not.toThrow(/world-readable-secret/);
    chmodSync(file, 0o640);
    await expect(source.get(REQUEST)).rejects.toThrow('has mode 0640');
  });

  it('ignores a pgpass path that is a directory, as libpq does', async () => {
    expect(await new LocalSecretSource({ PGPASSFILE: dir }).get(REQUEST)).toBeUndefined();
  });
});
