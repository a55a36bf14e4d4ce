import type {
  BackupPolicy,
  Catalogue,
  CatalogueInput,
  ListedObject,
  RecordText,
} from '../../lambdas/core/backup-catalogue.ts';
import { buildCatalogue } from '../../lambdas/core/backup-catalogue.ts';

/*
 * Shared by the unit tests of lambdas/core/backup-*.ts: the policy they judge by, clocks, and builders of the
 * objects and records the backup and drill documents publish.
 */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const SIZE = 5_000_000;
export const SHA = 'a'.repeat(64);

export const policy: BackupPolicy = {
  maxAge: 26 * HOUR,
  minSizeBytes: 1024,
  maxShrinkPercent: 50,
  retention: { daily: 7, weekly: 4, monthly: 6 },
  drill: { maxAge: 8 * DAY },
};

/** `acgs_pgp_db-20261201T020000Z`: the id of a backup started at that instant. */
export function idAt(startedAt: number): string {
  return `acgs_pgp_db-${new Date(startedAt).toISOString().replace(/[-:]|\.\d+/g, '')}`;
}

export interface Objects {
  readonly listing: ListedObject[];
  readonly records: RecordText[];
}

export interface BackupOptions {
  readonly sizeBytes?: number;
  /** Size of the dump in the store; `missing` leaves it out of the listing. @default sizeBytes */
  readonly stored?: number | 'missing';
  readonly tocEntries?: number;
  readonly tableDataEntries?: number;
  readonly id?: string;
  /** @default acgs_pgp_db */
  readonly database?: string;
  readonly tookMs?: number;
  /** SHA-256 the store gives for the dump now; `none`: a store that cannot tell. @default the manifest's */
  readonly checksum?: string | 'none';
  /** The manifest's `checksumStored`; absent: a manifest from before it. */
  readonly checksumStored?: boolean;
}

/** A manifest and its dump, as the backup document publishes them under `<day>/`. */
export function backup(startedAt: number, options: BackupOptions = {}): Objects {
  const backupId = options.id ?? idAt(startedAt);
  const sizeBytes = options.sizeBytes ?? SIZE;
  const folder = new Date(startedAt).toISOString().slice(0, 10);
  const dumpKey = `${folder}/${backupId}.dump`;
  const manifest = {
    kind: 'acgs-ops.backup',
    version: 1,
    id: backupId,
    database: options.database ?? 'acgs_pgp_db',
    host: '10.0.1.20',
    port: 5432,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(startedAt + (options.tookMs ?? 4 * MINUTE)).toISOString(),
    dumpKey,
    sizeBytes,
    sha256: SHA,
    format: 'custom',
    tocEntries: options.tocEntries ?? 120,
    tableDataEntries: options.tableDataEntries ?? 40,
    pgDumpVersion: 'pg_dump (PostgreSQL) 15.8',
    ...(options.checksumStored === undefined ? {} : { checksumStored: options.checksumStored }),
  };
  const manifestKey = `${folder}/${backupId}.manifest.json`;
  const text = JSON.stringify(manifest);
  const stored = options.stored ?? sizeBytes;
  const checksum = options.checksum ?? SHA;
  return {
    listing: [
      ...(stored === 'missing'
        ? []
        : [{ key: dumpKey, size: stored, ...(checksum === 'none' ? {} : { sha256: checksum }) }]),
      { key: manifestKey, size: text.length },
    ],
    records: [{ key: manifestKey, text }],
  };
}

export function failure(startedAt: number, reason: string, backupId = idAt(startedAt)): Objects {
  const key = `${new Date(startedAt).toISOString().slice(0, 10)}/${backupId}.failed.json`;
  const text = JSON.stringify({
    kind: 'acgs-ops.backup-failure',
    version: 1,
    id: backupId,
    database: 'acgs_pgp_db',
    startedAt: new Date(startedAt).toISOString(),
    failedAt: new Date(startedAt + 5_000).toISOString(),
    reason,
  });
  return { listing: [{ key, size: text.length }], records: [{ key, text }] };
}

export function drillJson(source: string, startedAt: number, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    kind: 'acgs-ops.drill',
    version: 1,
    source,
    sha256: SHA,
    restoreSeconds: 95.5,
    tables: 38,
    tableDataEntries: 40,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(startedAt + 2 * MINUTE).toISOString(),
    ...over,
  });
}

export function drill(source: string, startedAt: number, over: Record<string, unknown> = {}): Objects {
  const key = `drills/${new Date(startedAt).toISOString().slice(0, 10)}.drill.json`;
  const text = drillJson(source, startedAt, over);
  return { listing: [{ key, size: text.length }], records: [{ key, text }] };
}

/**
 * A drill of the backup started at `backupStartedAt` that failed (the document exited non-zero): `content` (exit 3,
 * the dump is unrestorable) or `environment` (the drill could not run); `none` writes a record from before causes.
 */
export function drillFailure(
  backupStartedAt: number,
  startedAt: number,
  reason: string,
  cause: 'content' | 'environment' | 'none' = 'content',
): Objects {
  const backupId = idAt(backupStartedAt);
  const key = `drills/${backupId}-${new Date(startedAt).toISOString().replace(/[-:.]/g, '')}.drill-failed.json`;
  const text = JSON.stringify({
    kind: 'acgs-ops.drill-failure',
    version: 1,
    backupId,
    source: dumpUrl(backupStartedAt),
    startedAt: new Date(startedAt).toISOString(),
    failedAt: new Date(startedAt + MINUTE).toISOString(),
    reason,
    ...(cause === 'none' ? {} : { cause }),
  });
  return { listing: [{ key, size: text.length }], records: [{ key, text }] };
}

/** Where the drill document found the dump of the backup started then, as it names it in `source`. */
export function dumpUrl(startedAt: number): string {
  return `s3://acgs-backups/backups/${new Date(startedAt).toISOString().slice(0, 10)}/${idAt(startedAt)}.dump`;
}

export function other(key: string, size = 10): Objects {
  return { listing: [{ key, size }], records: [] };
}

export function input(...parts: Objects[]): CatalogueInput {
  return { listing: parts.flatMap((p) => p.listing), records: parts.flatMap((p) => p.records) };
}

export function catalogue(...parts: Objects[]): Catalogue {
  return buildCatalogue(input(...parts), policy);
}

/** Daily backups at 02:00 UTC on each day from `first` to `last`, inclusive. */
export function dailyBackups(first: string, last: string): Objects[] {
  const out: Objects[] = [];
  for (let day = Date.parse(`${first}T02:00:00Z`); day <= Date.parse(`${last}T02:00:00Z`); day += DAY)
    out.push(backup(day));
  return out;
}

export const at = (iso: string) => Date.parse(iso);
export const id = (iso: string) => idAt(at(iso));
