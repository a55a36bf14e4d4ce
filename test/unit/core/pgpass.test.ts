import { describe, expect, it } from 'vitest';
import { parsePgpass, pgpassPassword } from '../../../lambdas/core/pgpass.ts';

const QUERY = { host: 'db.internal', port: 5432, database: 'acgs_pgp_db', user: 'acgs_user' };
const lookup = (text: string, query = QUERY) => pgpassPassword(parsePgpass(text), query);

describe('pgpass, read as libpq reads it', () => {
  it('finds the password of the entry matching host, port, database and user', () => {
    expect(lookup('db.internal:5432:acgs_pgp_db:acgs_user:s3cret\n')).toBe('s3cret');
  });

  it('takes the first matching line, so a specific line must come before a wildcard one', () => {
    const text = 'db.internal:5432:*:acgs_user:first\ndb.internal:5432:acgs_pgp_db:acgs_user:second\n';
    expect(lookup(text)).toBe('first');
  });

  it('matches a bare * in any of the first four fields, and only a bare one', () => {
    expect(lookup('*:*:*:*:any')).toBe('any');
    expect(lookup('db.internal:*:acgs_pgp_db:acgs_user:p')).toBe('p');
    // An escaped star is a literal star: it matches a database named "*" only.
    expect(lookup('db.internal:5432:\\*:acgs_user:p')).toBeUndefined();
    expect(lookup('db.internal:5432:\\*:acgs_user:p', { ...QUERY, database: '*' })).toBe('p');
  });

  it('unescapes \\: and \\\\ in every field, the password included', () => {
    expect(lookup('db.internal:5432:acgs_pgp_db:acgs_user:pa\\:ss\\\\word')).toBe('pa:ss\\word');
    expect(lookup('fe80\\:\\:1:5432:*:acgs_user:v6', { ...QUERY, host: 'fe80::1' })).toBe('v6');
    expect(lookup('fe80\\:\\:1:5432:*:acgs_user:v6', { ...QUERY, host: '[fe80::1]' })).toBe('v6');
  });

  it('ends the password at the next unescaped colon, as libpq does', () => {
    expect(lookup('db.internal:5432:acgs_pgp_db:acgs_user:pass:ignored')).toBe('pass');
  });

  it('keeps a lone trailing backslash and strips a CRLF line end', () => {
    expect(lookup('db.internal:5432:acgs_pgp_db:acgs_user:end\\\r\n')).toBe('end\\');
  });

  it('skips comments, blank lines and lines with fewer than five fields', () => {
    const text = '# db.internal:5432:acgs_pgp_db:acgs_user:commented\n\ndb.internal:5432:acgs_pgp_db:acgs_user\n';
    expect(parsePgpass(text)).toEqual([]);
    expect(lookup(text)).toBeUndefined();
  });

  it('matches nothing for another port, host, database or user', () => {
    const text = 'db.internal:5432:acgs_pgp_db:acgs_user:p';
    expect(lookup(text, { ...QUERY, port: 5433 })).toBeUndefined();
    expect(lookup(text, { ...QUERY, host: 'other' })).toBeUndefined();
    expect(lookup(text, { ...QUERY, database: 'other' })).toBeUndefined();
    expect(lookup(text, { ...QUERY, user: 'other' })).toBeUndefined();
  });

  it('reads an empty password as empty, and a * password as the password *', () => {
    expect(lookup('db.internal:5432:acgs_pgp_db:acgs_user:')).toBe('');
    expect(lookup('db.internal:5432:acgs_pgp_db:acgs_user:*')).toBe('*');
  });
});
