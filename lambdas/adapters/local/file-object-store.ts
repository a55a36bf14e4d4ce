import { createHash, randomBytes } from 'node:crypto';
import { type BigIntStats, constants, createReadStream } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ControlPlaneError } from '../../core/errors.ts';
import type {
  ContentSha256Options,
  ObjectInfo,
  ObjectStore,
  ObjectSummary,
  PutObjectOptions,
  PutObjectResult,
  StoredObject,
} from '../../ports.ts';

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const MAX_KEY_BYTES = 1024;
const META_SUFFIX = '.meta.json';
/** The hash cache of `contentSha256`, hidden at the root (a key never starts with `.`, so it is never an object). */
const HASH_CACHE = '.sha256-cache.json';
/**
 * A hash is cached only for a file whose ctime is at least this much older than the hash: file times tick coarsely
 * (a kernel tick, not a nanosecond), so a write in the same tick as the hash would leave the times unchanged. As
 * git's "racily clean" index entries: such a file is hashed again next time, until it is old enough.
 */
const RACY_NS = 2_000_000_000n;
/** A file name's limit (255 bytes) less what the metadata file adds to it. */
const MAX_NAME_BYTES = 255 - 1 - META_SUFFIX.length;
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** What S3 keeps of user metadata: header-token keys (it lower-cases them) and printable US-ASCII values. */
const METADATA_KEY = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;

export interface FileObjectStoreProps {
  /** Wall-clock time (epoch ms), compared with file ctimes by the hash cache. @default Date.now */
  readonly now?: () => number;
}

/** Written next to each object as `.<name>.meta.json`; hidden, so never listed. */
interface Sidecar {
  readonly size: number;
  readonly sha256: string;
  /** The inode the content was written to: a sidecar naming another inode belongs to other content. */
  readonly inode: string;
  readonly contentType: string;
  readonly metadata: Record<string, string>;
}

/**
 * ObjectStore on a directory, for one host: a key `2026-12-01/x.dump` is the file `<root>/2026-12-01/x.dump`.
 * An object is published atomically: written to a hidden temporary file in its folder, flushed to disk, then renamed
 * over its name, so a reader (or a crash) sees the whole old content or the whole new one, never a part. Files are
 * private to the owner (0600, folders 0700). Content type, metadata and the SHA-256 live in a hidden sidecar that
 * records the inode it describes, so a sidecar left behind by a crash is never taken for the content's.
 *
 * Unlike S3, a key cannot be both an object and a folder of others (`a` and `a/b`): putting the second is refused.
 * Key segments starting with `.` are refused: the store keeps such names for its own files.
 */
export class FileObjectStore implements ObjectStore {
  private readonly root: string;
  private readonly now: () => number;

  constructor(root: string, props: FileObjectStoreProps = {}) {
    if (!root) throw new ControlPlaneError('CONFIG', 'FileObjectStore: root directory is empty');
    this.root = resolve(root);
    this.now = props.now ?? Date.now;
  }

  async put(key: string, body: Uint8Array | string, options: PutObjectOptions = {}): Promise<PutObjectResult> {
    const path = this.pathOf(key);
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (options.sha256 !== undefined) {
      if (!HEX_SHA256.test(options.sha256))
        throw new ControlPlaneError('INVALID_CHECKSUM', `sha256 for ${key} must be 64 lower-case hex digits`);
      if (options.sha256 !== sha256)
        throw new ControlPlaneError(
          'CHECKSUM_MISMATCH',
          `${key}: content has SHA-256 ${sha256}, expected ${options.sha256}; not stored`,
        );
    }
    const metadata = normaliseMetadata(key, options.metadata ?? {});

    const folder = dirname(path);
    try {
      await mkdir(folder, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw isClash(error) ? keyClash(key, error) : error;
    }
    if ((await lstat(path).catch(() => undefined))?.isDirectory()) throw keyClash(key);
    const content = await writeTemporary(folder, bytes);
    try {
      const sidecar: Sidecar = {
        size: bytes.byteLength,
        sha256,
        inode: content.inode,
        contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
        metadata,
      };
      const described = await writeTemporary(folder, new TextEncoder().encode(JSON.stringify(sidecar)));
      try {
        await rename(described.path, sidecarPath(path));
      } catch (error) {
        await rm(described.path, { force: true });
        throw error;
      }
      await rename(content.path, path);
    } catch (error) {
      await rm(content.path, { force: true });
      throw isClash(error) ? keyClash(key, error) : error;
    }
    await syncFolder(folder);
    return { key, size: bytes.byteLength, sha256 };
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const path = this.pathOf(key);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isAbsent(error)) return undefined;
      if (code(error) === 'ELOOP') throw notAFile(key, error);
      throw error;
    }
    try {
      const stats = await handle.stat({ bigint: true });
      if (stats.isDirectory()) return undefined;
      const body = new Uint8Array(await handle.readFile());
      const sha256 = createHash('sha256').update(body).digest('hex');
      const sidecar = await readSidecar(path, stats);
      if (sidecar && sidecar.sha256 !== sha256)
        throw new ControlPlaneError(
          'CHECKSUM_MISMATCH',
          `${key}: stored content has SHA-256 ${sha256}, but was stored with ${sidecar.sha256}: the file changed on disk`,
        );
      return { ...objectInfo(key, stats, sidecar, sha256), body };
    } finally {
      await handle.close();
    }
  }

  /** The file's stats when `key` names a stored object; undefined when there is none (or a directory is there). */
  private async statObject(key: string, path: string): Promise<BigIntStats | undefined> {
    let stats: BigIntStats;
    try {
      stats = await lstat(path, { bigint: true });
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
    if (stats.isDirectory()) return undefined;
    if (!stats.isFile()) throw notAFile(key);
    return stats;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    const stats = await this.statObject(key, path);
    if (!stats) return undefined;
    const sidecar = await readSidecar(path, stats);
    return objectInfo(key, stats, sidecar, sidecar?.sha256 ?? (await hashFile(path)));
  }

  /**
   * Re-reads the file only when the hash cache has no hash of it as it is now: the cache entry names the device,
   * inode, size, mtime and ctime (nanoseconds) the hash was computed for, and any write, rename over it or
   * `touch` changes one of them (ctime cannot be set back from user space). `fresh` re-reads it regardless (bit rot
   * changes no time). A file changed while it was read is not cached.
   */
  async contentSha256(key: string, options: ContentSha256Options = {}): Promise<string | undefined> {
    const path = this.pathOf(key);
    const stats = await this.statObject(key, path);
    if (!stats) return undefined;
    const identity = fileIdentity(stats);
    const cache = await this.readHashCache();
    const cached = cache[key];
    if (!options.fresh && cached && cached.identity === identity) return cached.sha256;
    let sha256: string;
    try {
      sha256 = await hashFile(path);
    } catch (error) {
      if (isAbsent(error)) return undefined; // deleted meanwhile
      throw error;
    }
    const after = await lstat(path, { bigint: true }).catch(() => undefined);
    const settled = after !== undefined && fileIdentity(after) === identity;
    const hashedAtNs = BigInt(this.now()) * 1_000_000n;
    if (settled && hashedAtNs - stats.ctimeNs >= RACY_NS) {
      const entry = { identity, sha256, hashedAt: this.now() };
      await this.writeHashCache({ ...(await this.readHashCache()), [key]: entry });
    }
    return sha256;
  }

  private async readHashCache(): Promise<Record<string, HashCacheEntry>> {
    let text: string;
    try {
      text = await readFile(join(this.root, HASH_CACHE), 'utf8');
    } catch (error) {
      if (isAbsent(error)) return {};
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null) return {};
      const entries: Record<string, HashCacheEntry> = {};
      for (const [k, v] of Object.entries(parsed as Record<string, Partial<HashCacheEntry>>))
        if (typeof v?.identity === 'string' && typeof v.sha256 === 'string' && HEX_SHA256.test(v.sha256))
          entries[k] = { identity: v.identity, sha256: v.sha256, hashedAt: Number(v.hashedAt ?? 0) };
      return entries;
    } catch {
      return {}; // a torn or foreign cache only costs a re-read
    }
  }

  /** Replaces the cache atomically; a concurrent writer may win, which only costs a re-read later. */
  private async writeHashCache(entries: Record<string, HashCacheEntry>): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const written = await writeTemporary(this.root, new TextEncoder().encode(JSON.stringify(entries)));
    try {
      await rename(written.path, join(this.root, HASH_CACHE));
    } catch (error) {
      await rm(written.path, { force: true });
      throw error;
    }
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    const cut = prefix.lastIndexOf('/') + 1;
    const folderKey = prefix.slice(0, cut);
    if (prefix.includes('\0') || prefix.startsWith('/') || (folderKey !== '' && keyProblem(folderKey.slice(0, -1))))
      throw new ControlPlaneError(
        'INVALID_KEY',
        `key prefix ${JSON.stringify(prefix)} must not start with "/", contain NUL, or have "", "." or ".." segments`,
      );
    const partial = prefix.slice(cut);
    const found: ObjectSummary[] = [];
    await this.walk(join(this.root, folderKey), folderKey, (name) => name.startsWith(partial), found);
    return found.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      // A folder of other objects is not an object: deleting it, like deleting nothing, is no error.
      if (!isAbsent(error) && code(error) !== 'EISDIR') throw error;
    }
    try {
      await rm(sidecarPath(path), { force: true });
      await syncFolder(dirname(path));
    } catch (error) {
      if (!isAbsent(error)) throw error;
    }
  }

  private async walk(
    folder: string,
    folderKey: string,
    wanted: (name: string) => boolean,
    found: ObjectSummary[],
  ): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(folder);
    } catch (error) {
      if (isAbsent(error)) return;
      throw error;
    }
    for (const name of entries) {
      if (name.startsWith('.') || !wanted(name)) continue;
      let stats: BigIntStats;
      try {
        stats = await lstat(join(folder, name), { bigint: true });
      } catch (error) {
        if (isAbsent(error)) continue; // deleted while listing
        throw error;
      }
      if (stats.isDirectory()) await this.walk(join(folder, name), `${folderKey}${name}/`, () => true, found);
      else if (stats.isFile())
        found.push({ key: `${folderKey}${name}`, size: Number(stats.size), lastModified: Number(stats.mtimeMs) });
    }
  }

  private pathOf(key: string): string {
    const problem = keyProblem(key);
    if (problem) throw new ControlPlaneError('INVALID_KEY', `object key ${JSON.stringify(key)} ${problem}`);
    return join(this.root, ...key.split('/'));
  }
}

function keyProblem(key: string): string | undefined {
  if (key === '') return 'is empty';
  if (key.includes('\0')) return 'contains a NUL character';
  if (key.startsWith('/')) return 'is absolute: it must not start with "/"';
  if (key.includes('\\')) return 'contains a backslash';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  for (const segment of key.split('/')) {
    if (segment === '') return 'has an empty segment ("//", or a "/" at the end)';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
    if (segment.startsWith('.')) return `has a segment starting with "." (${segment}): the store keeps those names`;
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES) return `has a segment longer than ${MAX_NAME_BYTES} bytes`;
  }
  return undefined;
}

function normaliseMetadata(key: string, metadata: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    const lower = name.toLowerCase();
    if (!METADATA_KEY.test(lower) || !METADATA_VALUE.test(value) || lower in out)
      throw new ControlPlaneError(
        'INVALID_METADATA',
        `${key}: metadata ${JSON.stringify(name)} must be a header-token name (unique ignoring case) with a ` +
          'printable US-ASCII value, as S3 keeps it',
      );
    out[lower] = value;
  }
  return out;
}

interface HashCacheEntry {
  /** `fileIdentity` of the file the hash was computed for. */
  readonly identity: string;
  readonly sha256: string;
  /** When it was computed (epoch ms): for an operator reading the cache. */
  readonly hashedAt: number;
}

/** Device, inode, size, mtime and ctime in nanoseconds: a write to the file, or another file in its place, changes it. */
function fileIdentity(stats: BigIntStats): string {
  return [stats.dev, stats.ino, stats.size, stats.mtimeNs, stats.ctimeNs].join(':');
}

function sidecarPath(path: string): string {
  return join(dirname(path), `.${path.slice(dirname(path).length + 1)}${META_SUFFIX}`);
}

/** The sidecar, if it describes exactly this file (same inode, same size); else nothing is known of it. */
async function readSidecar(path: string, stats: BigIntStats): Promise<Sidecar | undefined> {
  let text: string;
  try {
    text = await readFile(sidecarPath(path), 'utf8');
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
  let sidecar: Partial<Sidecar>;
  try {
    sidecar = JSON.parse(text) as Partial<Sidecar>;
  } catch {
    return undefined;
  }
  if (sidecar.inode !== stats.ino.toString() || sidecar.size !== Number(stats.size)) return undefined;
  if (typeof sidecar.sha256 !== 'string' || typeof sidecar.contentType !== 'string') return undefined;
  return {
    size: sidecar.size,
    sha256: sidecar.sha256,
    inode: sidecar.inode,
    contentType: sidecar.contentType,
    metadata: { ...(sidecar.metadata ?? {}) },
  };
}

function objectInfo(key: string, stats: BigIntStats, sidecar: Sidecar | undefined, sha256: string): ObjectInfo {
  return {
    key,
    size: Number(stats.size),
    lastModified: Number(stats.mtimeMs),
    contentType: sidecar?.contentType ?? DEFAULT_CONTENT_TYPE,
    sha256,
    metadata: { ...(sidecar?.metadata ?? {}) },
  };
}

/** Writes the bytes to a new hidden file in the folder, flushed to disk; the caller renames it into place. */
async function writeTemporary(folder: string, bytes: Uint8Array): Promise<{ path: string; inode: string }> {
  const path = join(folder, `.${randomBytes(12).toString('hex')}.tmp`);
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
    const stats = await handle.stat({ bigint: true });
    return { path, inode: stats.ino.toString() };
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  } finally {
    await handle.close();
  }
}

/** Makes a rename durable: the folder's entry is on disk once this returns. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isClash(error: unknown): boolean {
  const c = code(error);
  return c === 'ENOTDIR' || c === 'EEXIST' || c === 'EISDIR';
}

function keyClash(key: string, cause?: unknown): ControlPlaneError {
  return new ControlPlaneError(
    'INVALID_KEY',
    `object key ${JSON.stringify(key)} clashes with another: in a file store a key cannot be both an object and ` +
      'a folder of objects (like "a" and "a/b")',
    { cause },
  );
}

function notAFile(key: string, cause?: unknown): ControlPlaneError {
  return new ControlPlaneError('NOT_A_FILE', `object key ${JSON.stringify(key)} is not a regular file in the store`, {
    cause,
  });
}

function isAbsent(error: unknown): boolean {
  const c = code(error);
  return c === 'ENOENT' || c === 'ENOTDIR';
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
