import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileObjectStore } from '../../lambdas/adapters/local/file-object-store.ts';
import { describeObjectStoreContract } from '../support/object-store-contract.ts';

const roots: string[] = [];
async function newRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'acgs-file-object-store-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

const sha256 = (content: string) => createHash('sha256').update(content).digest('hex');

/** Every entry under `dir`, hidden ones included, as relative paths in sorted order. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

describeObjectStoreContract('FileObjectStore', async () => new FileObjectStore(await newRoot()));

describe('FileObjectStore on a directory', () => {
  it('publishes through a temporary file: only the object and its hidden metadata file remain', async () => {
    const root = await newRoot();
    const store = new FileObjectStore(join(root, 'backups'));
    await store.put('2026-12-01/db.dump', 'dump', { sha256: sha256('dump') });
    await store.put('2026-12-01/db.dump', 'dump, replaced');
    expect(await tree(join(root, 'backups'))).toEqual([
      '2026-12-01',
      '2026-12-01/.db.dump.meta.json',
      '2026-12-01/db.dump',
    ]);
    expect(await readFile(join(root, 'backups/2026-12-01/db.dump'), 'utf8')).toBe('dump, replaced');
  });

  it('leaves no file at all when the checksum is refused', async () => {
    const root = await newRoot();
    const store = new FileObjectStore(root);
    await expect(store.put('2026-12-01/db.dump', 'partial', { sha256: sha256('whole') })).rejects.toThrow(/not stored/);
    expect(await tree(root)).toEqual([]);
  });

  it('never lets a reader see part of an object while it is being replaced', async () => {
    const store = new FileObjectStore(await newRoot());
    const versions = ['a', 'b'].map((c) => c.repeat(2 * 1024 * 1024));
    await store.put('big', versions[0] ?? '');
    const writes = (async () => {
      for (let i = 1; i <= 10; i++) await store.put('big', versions[i % 2] ?? '');
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const body = new TextDecoder().decode((await store.get('big'))?.body);
      seen.add(body === versions[0] ? 'a' : body === versions[1] ? 'b' : `torn read of ${body.length} bytes`);
    }
    await writes;
    expect([...seen].filter((s) => s.startsWith('torn'))).toEqual([]);
  });

  it('makes objects and their metadata readable by the owner only (0600, folders 0700)', async () => {
    const root = await newRoot();
    const store = new FileObjectStore(root);
    await store.put('secret/db.dump', 'x', { metadata: { 'backup-id': 'b' } });
    expect((await stat(join(root, 'secret/db.dump'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'secret/.db.dump.meta.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'secret'))).mode & 0o777).toBe(0o700);
  });

  it.each([
    ['../escape', /"\.\.\/escape" has a "\.\." segment/],
    ['a/../../escape', /has a "\.\." segment/],
    ['a/./b', /has a "\." segment/],
    ['/etc/passwd', /"\/etc\/passwd" is absolute/],
    ['a//b', /"a\/\/b" has an empty segment/],
    ['a/', /has an empty segment/],
    ['a\0b', /"a\\u0000b" contains a NUL character/],
    ['.hidden', /starting with "\."/],
    ['a/.b.meta.json', /starting with "\."/],
    ['a\\..\\b', /contains a backslash/],
    ['x'.repeat(1025), /longer than 1024 bytes/],
  ])('refuses the key %j, naming it, and writes nothing', async (key, message) => {
    const root = await newRoot();
    const store = new FileObjectStore(join(root, 'store'));
    await expect(store.put(key, 'x')).rejects.toMatchObject({ code: 'INVALID_KEY', message });
    await expect(store.get(key)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(store.head(key)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(store.delete(key)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    expect(await tree(root)).toEqual([]);
  });

  it('refuses a list prefix that climbs out of the directory', async () => {
    const store = new FileObjectStore(await newRoot());
    await expect(store.list('../')).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(store.list('a/../../')).rejects.toMatchObject({ code: 'INVALID_KEY' });
  });

  it('refuses a key that would be both an object and a folder of objects', async () => {
    const store = new FileObjectStore(await newRoot());
    await store.put('a', 'object');
    await expect(store.put('a/b', 'x')).rejects.toMatchObject({ code: 'INVALID_KEY', message: /clashes/ });
    await store.put('c/d', 'object');
    await expect(store.put('c', 'x')).rejects.toMatchObject({ code: 'INVALID_KEY', message: /clashes/ });
    expect((await store.list('')).map((o) => o.key)).toEqual(['a', 'c/d']);
  });

  it('refuses metadata S3 would mangle: non-ASCII values, names that are not header tokens, duplicates', async () => {
    const store = new FileObjectStore(await newRoot());
    await expect(store.put('m', 'x', { metadata: { note: 'grüße' } })).rejects.toMatchObject({
      code: 'INVALID_METADATA',
    });
    await expect(store.put('m', 'x', { metadata: { 'has space': 'x' } })).rejects.toMatchObject({
      code: 'INVALID_METADATA',
    });
    await expect(store.put('m', 'x', { metadata: { Id: '1', id: '2' } })).rejects.toMatchObject({
      code: 'INVALID_METADATA',
    });
    expect(await store.head('m')).toBeUndefined();
  });

  it('ignores what a killed writer left behind: temporary files and a metadata file of other content', async () => {
    const root = await newRoot();
    const store = new FileObjectStore(root);
    await store.put('d/db.dump', 'old content', { contentType: 'application/x-pg-dump', metadata: { v: '1' } });
    // A writer killed after publishing the new metadata but before renaming the new content into place.
    const sidecar = JSON.parse(await readFile(join(root, 'd/.db.dump.meta.json'), 'utf8'));
    await writeFile(
      join(root, 'd/.db.dump.meta.json'),
      JSON.stringify({ ...sidecar, inode: '1', sha256: sha256('new content'), metadata: { v: '2' } }),
    );
    await writeFile(join(root, 'd/.0123456789abcdef.tmp'), 'new cont');
    expect(await store.head('d/db.dump')).toMatchObject({
      size: 11,
      sha256: sha256('old content'),
      contentType: 'application/octet-stream',
      metadata: {},
    });
    expect(new TextDecoder().decode((await store.get('d/db.dump'))?.body)).toBe('old content');
    expect((await store.list('d/')).map((o) => o.key)).toEqual(['d/db.dump']);
  });

  it('refuses to read an object whose file changed on disk after it was stored', async () => {
    const root = await newRoot();
    const store = new FileObjectStore(root);
    await store.put('db.dump', 'original content');
    await writeFile(join(root, 'db.dump'), 'tampered content');
    await expect(store.get('db.dump')).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringContaining('the file changed on disk'),
    });
  });

  it('gives the SHA-256 of the bytes on disk now, not the one recorded when the object was stored', async () => {
    const root = await newRoot();
    const store = new FileObjectStore(root);
    const put = await store.put('db.dump', 'original content');
    await writeFile(join(root, 'db.dump'), 'tampered content'); // same size, same inode
    expect((await store.head('db.dump'))?.sha256).toBe(put.sha256);
    expect(await store.contentSha256('db.dump')).toBe(createHash('sha256').update('tampered content').digest('hex'));
  });

  it('answers contentSha256 from its cache while the file is unchanged, and reads it again once it is written to', async () => {
    // Prepare: a clock a minute ahead, so the file is old enough to cache (no sleep)
    const root = await newRoot();
    const store = new FileObjectStore(root, { now: () => Date.now() + 60_000 });
    await writeFile(join(root, 'db.dump'), 'original content');
    expect(await store.contentSha256('db.dump')).toBe(sha256('original content'));
    // A cache entry that lies proves the answer comes from the cache, not from the file
    const cacheFile = join(root, '.sha256-cache.json');
    const cache = JSON.parse(await readFile(cacheFile, 'utf8')) as Record<string, { sha256: string }>;
    expect(Object.keys(cache)).toEqual(['db.dump']);
    await writeFile(cacheFile, JSON.stringify({ 'db.dump': { ...cache['db.dump'], sha256: 'f'.repeat(64) } }));
    // Act
    const cached = await store.contentSha256('db.dump');
    const fresh = await store.contentSha256('db.dump', { fresh: true });
    await writeFile(join(root, 'db.dump'), 'tampered content'); // same size, same inode, in place
    const afterWrite = await store.contentSha256('db.dump');
    // Assess
    expect(cached).toBe('f'.repeat(64));
    expect(fresh).toBe(sha256('original content'));
    expect(afterWrite).toBe(sha256('tampered content'));
    expect(await store.list('')).toEqual([expect.objectContaining({ key: 'db.dump' })]);
  });

  it('does not cache the hash of a file written within the last two seconds (file times tick coarsely)', async () => {
    const root = await newRoot();
    const store = new FileObjectStore(root, { now: () => Date.now() });
    await writeFile(join(root, 'db.dump'), 'original content');
    expect(await store.contentSha256('db.dump')).toBe(sha256('original content'));
    expect(await tree(root)).toEqual(['db.dump']);
  });

  it('answers "missing" and an empty listing before anything was stored (the directory need not exist)', async () => {
    const store = new FileObjectStore(join(await newRoot(), 'not', 'yet'));
    expect(await store.list('')).toEqual([]);
    expect(await store.get('x')).toBeUndefined();
    await expect(store.delete('x')).resolves.toBeUndefined();
  });
});
