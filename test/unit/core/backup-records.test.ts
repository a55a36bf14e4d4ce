import { describe, expect, it } from 'vitest';
import { buildCatalogue } from '../../../lambdas/core/backup-catalogue.ts';
import { judgeBackups } from '../../../lambdas/core/backup-judgement.ts';
import { parseBackupFailure, parseBackupManifest, parseDrillReport } from '../../../lambdas/core/backup-records.ts';
import { at, backup, DAY, drillJson, failure, HOUR, policy, SHA, SIZE } from '../../support/unit-backup-fixtures.ts';

describe('backup records', () => {
  it('parses a manifest with its times as epoch milliseconds', () => {
    const { records } = backup(at('2026-12-01T02:00:00Z'));
    const parsed = parseBackupManifest(records[0]?.text ?? '');
    expect(parsed).toEqual({
      ok: true,
      value: expect.objectContaining({
        id: 'acgs_pgp_db-20261201T020000Z',
        startedAt: at('2026-12-01T02:00:00Z'),
        finishedAt: at('2026-12-01T02:04:00Z'),
        sizeBytes: SIZE,
      }),
    });
  });

  it('reads the records exactly as the backup and drill documents print them, and judges the pair', () => {
    const manifestText =
      '{"kind":"acgs-ops.backup","version":1,"id":"acgs_pgp_db-20261201T020000Z","database":"acgs_pgp_db",' +
      '"host":"10.0.1.20","port":5432,"startedAt":"2026-12-01T02:00:00Z","finishedAt":"2026-12-01T02:03:41Z",' +
      `"dumpKey":"acgs_pgp_db-20261201T020000Z.dump","sizeBytes":48213,"sha256":"${SHA}","format":"custom",` +
      '"tocEntries":212,"tableDataEntries":37,"pgDumpVersion":"15.8"}\n';
    const failureText =
      '{"kind":"acgs-ops.backup-failure","version":1,"id":"acgs_pgp_db-20261202T020000Z","database":"acgs_pgp_db",' +
      '"startedAt":"2026-12-02T02:00:00Z","failedAt":"2026-12-02T02:00:01Z",' +
      '"reason":"pg_dump: error: connection to server failed: FATAL:  password authentication failed"}\n';
    const drillText =
      '{"kind":"acgs-ops.drill","version":1,"source":"s3://acgs-backups/backups/acgs_pgp_db-20261201T020000Z.dump",' +
      `"sha256":"${SHA}","restoreSeconds":12,"tables":35,"tableDataEntries":37,` +
      '"startedAt":"2026-12-01T06:00:00Z","finishedAt":"2026-12-01T06:00:19Z"}\n';
    const c = buildCatalogue(
      {
        listing: [{ key: 'acgs_pgp_db-20261201T020000Z.dump', size: 48213 }],
        records: [
          { key: 'acgs_pgp_db-20261201T020000Z.manifest.json', text: manifestText },
          { key: 'acgs_pgp_db-20261202T020000Z.failed.json', text: failureText },
          { key: 'drills/20261201T060000Z.drill.json', text: drillText },
        ],
      },
      policy,
    );
    expect(c.unreadable).toEqual([]);
    const j = judgeBackups(c, policy, at('2026-12-02T03:00:00Z'));
    expect(j).toMatchObject({ status: 'failed', drillStatus: 'ok', dataAgeMs: DAY + HOUR });
    expect(j.reasons).toEqual([
      'latest attempt acgs_pgp_db-20261202T020000Z failed: pg_dump: error: connection to server failed: FATAL:  ' +
        'password authentication failed',
    ]);
  });

  it('accepts times with an offset and ignores fields a newer writer added', () => {
    const text = JSON.stringify({
      ...JSON.parse(backup(at('2026-12-01T02:00:00Z')).records[0]?.text ?? '{}'),
      startedAt: '2026-12-01T03:00:00+01:00',
      compression: 6,
    });
    const parsed = parseBackupManifest(text);
    expect(parsed.ok && parsed.value.startedAt).toBe(at('2026-12-01T02:00:00Z'));
  });

  it('reads both formats a backup publishes: custom (one pg_dump) and directory-tar (parallel workers)', () => {
    const good = JSON.parse(backup(at('2026-12-01T02:00:00Z')).records[0]?.text ?? '{}');
    for (const format of ['custom', 'directory-tar']) {
      const parsed = parseBackupManifest(JSON.stringify({ ...good, format }));
      expect(parsed.ok && parsed.value.format).toBe(format);
    }
    expect(parseBackupManifest(JSON.stringify({ ...good, format: 'directory' }))).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^format: /),
    });
  });

  it('names every field that is wrong, and never throws', () => {
    const good = JSON.parse(backup(at('2026-12-01T02:00:00Z')).records[0]?.text ?? '{}');
    const parsed = parseBackupManifest(
      JSON.stringify({ ...good, sha256: 'ABC', port: 5432.5, format: 'plain', tocEntries: undefined }),
    );
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toMatch(/port: .*int/i);
    expect(parsed.error).toMatch(/sha256: must be 64 lower-case hex digits/);
    expect(parsed.error).toMatch(/format: /);
    expect(parsed.error).toMatch(/tocEntries: Invalid input: expected number, received undefined/);
  });

  it('refuses empty text, text that is not JSON, the wrong kind and a finish before the start', () => {
    expect(parseBackupManifest('')).toEqual({ ok: false, error: 'the record is empty' });
    expect(parseBackupManifest('{"kind": "acgs-ops.backup", ')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^not JSON: /),
    });
    expect(parseBackupManifest('[]')).toMatchObject({ ok: false, error: expect.stringMatching(/^\(record\): /) });
    const failureText = failure(at('2026-12-01T02:00:00Z'), 'x').records[0]?.text ?? '';
    expect(parseBackupManifest(failureText)).toMatchObject({ ok: false, error: expect.stringMatching(/^kind: /) });
    const report = drillJson('b', at('2026-12-01T02:00:00Z'), { finishedAt: '2026-12-01T01:00:00Z' });
    expect(parseDrillReport(report)).toEqual({
      ok: false,
      error: expect.stringContaining('finishedAt: must not be before startedAt'),
    });
  });

  it('parses failure records and drill reports', () => {
    const failureText = failure(at('2026-12-01T02:00:00Z'), 'password authentication failed').records[0]?.text;
    expect(parseBackupFailure(failureText ?? '')).toMatchObject({
      ok: true,
      value: { reason: 'password authentication failed', failedAt: at('2026-12-01T02:00:05Z') },
    });
    expect(parseDrillReport(drillJson('b-1', at('2026-12-01T06:00:00Z')))).toMatchObject({
      ok: true,
      value: { source: 'b-1', restoreSeconds: 95.5, finishedAt: at('2026-12-01T06:02:00Z') },
    });
  });
});
