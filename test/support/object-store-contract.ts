import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../lambdas/ports.ts';

const sha256 = (content: Uint8Array | string) => createHash('sha256').update(content).digest('hex');
const text = (body: Uint8Array | undefined) => new TextDecoder().decode(body);
/** No earlier than this: a lastModified of 0 means the store did not say. */
const SANE_EPOCH_MS = Date.UTC(2020, 0, 1);

/**
 * The behaviour every object store must have, whatever it is built on (S3, a directory): the backup use-cases
 * rely on exactly these guarantees. `open` gives a store that is empty and not shared with another test.
 */
export function describeObjectStoreContract(name: string, open: () => Promise<ObjectStore>): void {
  describe(`${name} (object store contract)`, () => {
    it('gives back binary content byte for byte, and text as UTF-8', async () => {
      const store = await open();
      const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31 + (i >> 8)) % 256);
      await store.put('dumps/db.dump', bytes);
      await store.put('notes/é.txt', 'grüße, 数据库 ✓');
      const got = await store.get('dumps/db.dump');
      expect(got?.body).toEqual(bytes);
      expect(got).toMatchObject({ key: 'dumps/db.dump', size: 70_000 });
      expect(text((await store.get('notes/é.txt'))?.body)).toBe('grüße, 数据库 ✓');
    });

    it('stores an empty object', async () => {
      const store = await open();
      await store.put('empty', new Uint8Array());
      expect(await store.get('empty')).toMatchObject({ size: 0, body: new Uint8Array(), sha256: sha256('') });
    });

    it('returns the SHA-256 and size of what it stored, and reports the same SHA-256 on head and get', async () => {
      const store = await open();
      const content = '{"id":"acgs_pgp_db-20261201T020000Z"}';
      const put = await store.put('m.json', content);
      expect(put).toMatchObject({ key: 'm.json', size: content.length, sha256: sha256(content) });
      expect((await store.head('m.json'))?.sha256).toBe(sha256(content));
      expect((await store.get('m.json'))?.sha256).toBe(sha256(content));
    });

    it('gives the SHA-256 of the stored content, and undefined for a key it does not hold', async () => {
      const store = await open();
      const bytes = Uint8Array.from({ length: 9_000 }, (_, i) => (i * 7) % 256);
      await store.put('dumps/x.dump', bytes);
      expect(await store.contentSha256('dumps/x.dump')).toBe(sha256(bytes));
      expect(await store.contentSha256('dumps/absent.dump')).toBeUndefined();
    });

    it('stores content whose SHA-256 is the expected one', async () => {
      const store = await open();
      const bytes = new TextEncoder().encode('pg_dump custom archive');
      await expect(store.put('d.dump', bytes, { sha256: sha256(bytes) })).resolves.toMatchObject({
        sha256: sha256(bytes),
      });
      expect(text((await store.get('d.dump'))?.body)).toBe('pg_dump custom archive');
    });

    it('refuses content whose SHA-256 is not the expected one, and stores nothing', async () => {
      const store = await open();
      await expect(store.put('d.dump', 'trunc', { sha256: sha256('truncated? no') })).rejects.toMatchObject({
        code: 'CHECKSUM_MISMATCH',
        message: expect.stringMatching(
          /^d\.dump: content has SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}; not stored$/,
        ),
      });
      expect(await store.head('d.dump')).toBeUndefined();
      expect(await store.list('')).toEqual([]);
    });

    it('keeps the stored object when a replacement fails its checksum', async () => {
      const store = await open();
      await store.put('d.dump', 'the good one');
      await expect(store.put('d.dump', 'a bad one', { sha256: sha256('something else') })).rejects.toThrow(
        /not stored/,
      );
      expect(text((await store.get('d.dump'))?.body)).toBe('the good one');
    });

    it('refuses an expected SHA-256 that is not 64 lower-case hex digits', async () => {
      const store = await open();
      await expect(store.put('x', 'x', { sha256: sha256('x').toUpperCase() })).rejects.toMatchObject({
        code: 'INVALID_CHECKSUM',
      });
      expect(await store.head('x')).toBeUndefined();
    });

    it('replaces an object put again under the same key, content type and metadata included', async () => {
      const store = await open();
      await store.put('r', 'first', { contentType: 'text/plain', metadata: { round: '1' } });
      await store.put('r', 'second, longer');
      expect(await store.get('r')).toMatchObject({
        size: 14,
        sha256: sha256('second, longer'),
        contentType: 'application/octet-stream',
        metadata: {},
      });
      expect((await store.list('')).map((o) => o.key)).toEqual(['r']);
    });

    it('lists by prefix in key order, with sizes and modification times, leaving out other prefixes', async () => {
      const store = await open();
      for (const key of ['b/2026-12-03/x', 'b/2026-12-01/x', 'b/2026-11-30/x', 'b/2026-12-02/y', 'a/2026-12-01/x'])
        await store.put(key, key);
      await store.put('b/2026-12', 'not a folder here');
      const listed = await store.list('b/2026-12-');
      expect(listed.map((o) => o.key)).toEqual(['b/2026-12-01/x', 'b/2026-12-02/y', 'b/2026-12-03/x']);
      expect(listed[0]).toMatchObject({ size: 'b/2026-12-01/x'.length, lastModified: expect.any(Number) });
      expect(listed[0]?.lastModified).toBeGreaterThan(SANE_EPOCH_MS);
      expect((await store.list('b/')).map((o) => o.key)).toEqual([
        'b/2026-11-30/x',
        'b/2026-12',
        'b/2026-12-01/x',
        'b/2026-12-02/y',
        'b/2026-12-03/x',
      ]);
      expect(await store.list('c/')).toEqual([]);
      expect(await store.list('b/2026-12-04')).toEqual([]);
    });

    it('orders keys by their UTF-8 bytes, as S3 does ("-" < "." < "/" < digits < letters < non-ASCII)', async () => {
      const store = await open();
      for (const key of ['k/a/b', 'k/a0', 'k/a.b', 'k/a-c', 'k/\u{1F600}', 'k/\uFF21', 'k/B'])
        await store.put(key, '.');
      // Code-unit order (String.prototype.sort) would put U+1F600 before U+FF21, and a walk of folders "a/b" first.
      expect((await store.list('k/')).map((o) => o.key)).toEqual([
        'k/B',
        'k/a-c',
        'k/a.b',
        'k/a/b',
        'k/a0',
        'k/\uFF21',
        'k/\u{1F600}',
      ]);
    });

    it('answers undefined to head and get of a key it does not hold', async () => {
      const store = await open();
      await store.put('present/x', 'x');
      expect(await store.head('absent')).toBeUndefined();
      expect(await store.get('absent')).toBeUndefined();
      expect(await store.head('present')).toBeUndefined();
      expect(await store.get('present/x/y')).toBeUndefined();
    });

    it('deletes an object, after which head, get and list find nothing; deleting again is fine', async () => {
      const store = await open();
      await store.put('t/x', 'x');
      await store.put('t/y', 'y');
      await store.delete('t/x');
      expect(await store.head('t/x')).toBeUndefined();
      expect(await store.get('t/x')).toBeUndefined();
      expect((await store.list('t/')).map((o) => o.key)).toEqual(['t/y']);
      await expect(store.delete('t/x')).resolves.toBeUndefined();
      await expect(store.delete('never/was')).resolves.toBeUndefined();
    });

    it('keeps the content type and metadata, with metadata names lower-cased as S3 keeps them', async () => {
      const store = await open();
      await store.put('m.json', '{}', {
        contentType: 'application/json',
        metadata: { 'backup-id': 'acgs_pgp_db-20261201T020000Z', 'Source-Host': '10.0.1.20' },
      });
      const expected = {
        contentType: 'application/json',
        metadata: { 'backup-id': 'acgs_pgp_db-20261201T020000Z', 'source-host': '10.0.1.20' },
      };
      expect(await store.head('m.json')).toMatchObject(expected);
      expect(await store.get('m.json')).toMatchObject(expected);
    });

    it('says application/octet-stream and no metadata when none were given', async () => {
      const store = await open();
      await store.put('plain', 'x');
      expect(await store.head('plain')).toMatchObject({ contentType: 'application/octet-stream', metadata: {} });
    });

    it('refuses an empty key and one starting with "/"', async () => {
      const store = await open();
      await expect(store.put('', 'x')).rejects.toMatchObject({ code: 'INVALID_KEY' });
      await expect(store.get('/etc/passwd')).rejects.toMatchObject({ code: 'INVALID_KEY' });
    });
  });
}
