import { createHash } from 'node:crypto';
import { backupId } from '../../lambdas/core/document-parameters.ts';
import type {
  ContentSha256Options,
  ObjectInfo,
  ObjectStore,
  ObjectSummary,
  PutObjectOptions,
  PutObjectResult,
  StoredObject,
} from '../../lambdas/ports.ts';

/**
 * An ObjectStore in memory for use-case tests: it hashes what it holds now, as the file store does, and records the
 * keys it read afresh (`freshly`). `cached` stands for the file store's hash cache: an answer given unless `fresh`
 * (set it to what a cache would still say after bit rot changed the bytes but no file time).
 */
export class MemoryObjectStore implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly freshly: string[] = [];
  readonly cached = new Map<string, string>();

  async put(key: string, body: Uint8Array | string, _options?: PutObjectOptions): Promise<PutObjectResult> {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    this.objects.set(key, bytes);
    return { key, size: bytes.byteLength, sha256: sha256Of(bytes) };
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const body = this.objects.get(key);
    if (!body) return undefined;
    return { ...info(key, body), body };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const body = this.objects.get(key);
    return body && info(key, body);
  }

  async contentSha256(key: string, options: ContentSha256Options = {}): Promise<string | undefined> {
    const body = this.objects.get(key);
    if (!body) return undefined;
    const cached = this.cached.get(key);
    if (!options.fresh && cached !== undefined) return cached;
    if (options.fresh) this.freshly.push(key);
    return sha256Of(body);
  }

  async list(prefix: string): Promise<ObjectSummary[]> {
    return [...this.objects.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((key) => ({ key, size: this.objects.get(key)?.byteLength ?? 0, lastModified: 0 }));
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}

/**
 * Publishes a dump (`repeat` copies of its id) and its manifest as the backup document does, for a backup of
 * acgs_pgp_db started at `startedAt`; returns its id.
 */
export async function publishBackup(objects: MemoryObjectStore, startedAt: number, repeat = 200): Promise<string> {
  const id = backupId('acgs_pgp_db', new Date(startedAt));
  const dump = `${id} `.repeat(repeat);
  await objects.put(`${id}.dump`, dump);
  await objects.put(
    `${id}.manifest.json`,
    JSON.stringify({
      kind: 'acgs-ops.backup',
      version: 1,
      id,
      database: 'acgs_pgp_db',
      host: '10.0.1.20',
      port: 5432,
      startedAt: new Date(startedAt).toISOString(),
      finishedAt: new Date(startedAt + 60_000).toISOString(),
      dumpKey: `${id}.dump`,
      sizeBytes: Buffer.byteLength(dump),
      sha256: sha256Of(dump),
      format: 'custom',
      tocEntries: 12,
      tableDataEntries: 4,
      pgDumpVersion: 'pg_dump (PostgreSQL) 15.8',
    }),
  );
  return id;
}

export function sha256Of(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function info(key: string, body: Uint8Array): ObjectInfo {
  return { key, size: body.byteLength, lastModified: 0, sha256: sha256Of(body), metadata: {} };
}
