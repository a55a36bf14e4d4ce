import { readFileSync } from 'node:fs';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { S3ObjectStore } from '../../../lambdas/adapters/aws/s3-object-store.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { PITR_RESTORE_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import { PITR_DRILL_SUFFIX, PITR_REPORT_SUFFIX } from '../../../lambdas/core/pitr-drill.ts';
import { validateParameters } from '../../../lambdas/core/ssm-document.ts';
import { type AwsRuntime, createAwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createBackupsHandler, DRILL_MARGIN_MS } from '../../../lambdas/handlers/backups.ts';
import type { CommandRequest, CommandResult, CommandRunner, ObjectStore } from '../../../lambdas/ports.ts';
import { createAwsControlPlane } from '../../support/aws-control-plane.ts';
import { ManualClock } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { useMotoServer } from '../../support/moto.ts';
import { loadDocument } from '../../support/unit-ssm-documents.ts';

/**
 * The scheduled point-in-time restore drill in AWS (task pitr-drill): the backups Lambda sends acgs-pitr-restore
 * (Drill=yes, the archive in S3, ReportLocation under backups.s3Prefix) to the database host, reads the document's
 * whole report from the bucket, judges it and records the verdict next to the backups, with the drill incident in
 * DynamoDB on failure, against moto_server.
 *
 * The SSM agent cannot run here (moto records SendCommand but never runs a document), so the command's result is
 * stubbed: the waiting runner below answers as the document does on the host, writing its report to ReportLocation
 * in moto's S3 and returning an output cut as SSM cuts it (~2,400 characters: the report line, printed last, is lost).
 * The document itself restores from S3 against real PostgreSQL in test/integration/s3-wal-archiving.test.ts.
 */
const moto = useMotoServer();
const TABLE = 'acgs-control';
const BUS = 'acgs-1-events';
const BUCKET = 'acgs-1-backups';
const HOST = 'i-0123456789abcdef0';
const DOCUMENT_NAMES = { [PITR_RESTORE_DOCUMENT]: `acgs-1-ops-control-plane-${PITR_RESTORE_DOCUMENT}` };
const REMAINING_MS = 15 * 60_000;
const context = lambdaContext('acgs-backups', REMAINING_MS);
const STARTED_AT = Date.UTC(2026, 11, 6, 5, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
/** 120 application tables: their inventory alone is far beyond what SSM keeps of a command's output. */
const TABLES = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`public.ledger_${i}`, 1_000 + i]));

let runtime: AwsRuntime;
let objects: ObjectStore;
let s3: S3Client;
const clock = new ManualClock(STARTED_AT);

/** What acgs-pitr-restore prints last with Drill=yes: recovered 40 s after the start, the newest canary 10 s before. */
function restoreReport(request: CommandRequest, restored: Record<string, number>): string {
  return JSON.stringify({
    kind: 'acgs-ops.pitr-restore',
    version: 1,
    baseBackup: 'base-20261206T010000Z',
    baseBackupFinishedAt: iso(STARTED_AT - 4 * 3_600_000),
    target: request.parameters.TargetTime,
    scratchDirectory: request.parameters.ScratchDirectory,
    port: Number(request.parameters.ScratchPort),
    unpackMs: 12_000,
    replayMs: 26_000,
    rtoMs: 38_000,
    newestTransactionAt: iso(STARTED_AT + 39_000),
    recoveredAt: iso(STARTED_AT + 40_000),
    recoveryLog: 'redo done',
    drill: {
      database: request.parameters.DatabaseName,
      inventory: { at: iso(STARTED_AT + 40_000), rowCounts: restored },
      canaryTable: true,
      canary: { newestAt: iso(STARTED_AT + 30_000), rows: 240 },
      scratchRemoved: true,
      baseBackupManifest: {
        kind: 'acgs-ops.base-backup',
        id: 'base-20261206T010000Z',
        finishedAt: iso(STARTED_AT - 4 * 3_600_000),
        canary: { id: 1, writtenAt: iso(STARTED_AT - 4 * 3_600_000 - 60_000) },
        snapshot: { at: iso(STARTED_AT - 4 * 3_600_000 - 50_000), rowCounts: { ...TABLES, 'public.sessions': 300 } },
      },
    },
  });
}

/** The host's side, stubbed: the document's report written whole to ReportLocation (unless told not to). */
class StubbedPitrRestore implements CommandRunner {
  readonly requests: CommandRequest[] = [];
  constructor(
    private readonly restored: Record<string, number>,
    private readonly writeReport = true,
  ) {}
  async run(request: CommandRequest): Promise<CommandResult> {
    this.requests.push(request);
    const report = restoreReport(request, this.restored);
    const location = request.parameters.ReportLocation ?? '';
    if (this.writeReport && location.startsWith(`s3://${BUCKET}/`))
      await s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: location.slice(`s3://${BUCKET}/`.length), Body: report }),
      );
    const output = [
      `sent ${DOCUMENT_NAMES[PITR_RESTORE_DOCUMENT]} as command pitr-1 to instances ${HOST}`,
      `acgs-pitr-restore: restoring base backup base-20261206T010000Z and the archived WAL up to latest`,
      `inventory taken; the drill's scratch cluster is stopped and removed`,
      report,
    ].join('\n');
    return { status: 'succeeded', exitCode: 0, commandId: 'pitr-1', output: output.slice(0, 2_400) };
  }
}

beforeAll(async () => {
  // The shipped config with the database host, the WAL archive in S3, sessions allowed to shrink, a weekly drill.
  const raw = parse(readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8')) as {
    backups: Record<string, unknown>;
    schedules: Record<string, unknown>;
  };
  raw.backups.instanceId = HOST;
  raw.backups.archiving = { s3Prefix: 'wal-archive/', drill: { tablesAllowedToShrink: ['public.sessions'] } };
  raw.schedules.pitrDrill = { cron: '0 5 * * 0' };
  const parsed = parseFleetConfig(stringify(raw));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const config = parsed.config;

  const plane = await createAwsControlPlane(moto.endpoint, {
    levels: config.escalation.levels.map((l) => l.level),
    documents: [PITR_RESTORE_DOCUMENT],
    bucket: BUCKET,
    env: { ACGS_BACKUP_BUCKET: BUCKET },
    table: TABLE,
    bus: BUS,
  });
  s3 = plane.clients.s3;
  runtime = createAwsRuntime(config, plane.env, plane.clients, clock);
  objects = new S3ObjectStore(plane.clients.s3Objects, { bucket: BUCKET, prefix: config.backups?.s3Prefix ?? '' });
}, 60_000);

async function keys(): Promise<string[]> {
  return (await objects.list('')).map((o) => o.key).sort();
}

describe('the backups Lambda, task pitr-drill, against moto', () => {
  it('sends acgs-pitr-restore as a drill of the S3 archive, reads the whole report from the bucket and records a pass', async () => {
    // Prepare: sessions expired since the base backup (300 -> 120), which the config allows.
    const host = new StubbedPitrRestore({ ...TABLES, 'public.sessions': 120 });
    const handler = createBackupsHandler(runtime, { destination: { objects, bucket: BUCKET }, drillRunner: host });
    // Act
    const result = await handler({ task: 'pitr-drill' }, context);
    // Assess: what was sent, within the Lambda's time, valid for the document.
    const [request] = host.requests;
    expect(request?.document).toBe(PITR_RESTORE_DOCUMENT);
    expect(request?.parameters).toMatchObject({
      Drill: 'yes',
      TargetTime: 'latest',
      S3Archive: `s3://${BUCKET}/wal-archive/`,
      ScratchDirectory: '/var/backups/acgs-ops-archive-pitr-drill',
      ScratchPort: '15432',
      DatabaseName: 'acgs_pgp_db',
      ReportLocation: `s3://${BUCKET}/backups/acgs_pgp_db/pitr-20261206T050000000Z${PITR_REPORT_SUFFIX}`,
    });
    expect(Number(request?.parameters.TimeoutSeconds) * 1000).toBeLessThanOrEqual(REMAINING_MS - DRILL_MARGIN_MS);
    expect(validateParameters(loadDocument(PITR_RESTORE_DOCUMENT), request?.parameters ?? {})).toEqual([]);
    // The verdict, from the report the output had lost.
    expect(result).toMatchObject({ task: 'pitr-drill', outcome: 'passed', rtoMs: 38_000, rpoMs: 10_000 });
    expect(result).toMatchObject({
      reasons: expect.arrayContaining(['public.sessions: 120 rows, was 300 at the base backup: allowed to shrink']),
    });
    // Recorded next to the backups, where the monitor and `backup status` read it; the report object has served.
    const stored = await keys();
    expect(stored).toEqual([`base-20261206T010000Z-20261206T050000000Z${PITR_DRILL_SUFFIX}`]);
    const record = JSON.parse(Buffer.from((await objects.get(stored[0] ?? ''))?.body ?? []).toString());
    expect(record).toMatchObject({ kind: 'acgs-ops.pitr-drill', outcome: 'passed', tables: 121, target: 'latest' });
    expect((await runtime.ctx.incidents.listOpenIncidents()).filter((i) => i.kind === 'drill')).toEqual([]);
  }, 30_000);

  it('records a drill whose data lost rows as failed and opens the drill incident', async () => {
    // Prepare: an hour later, a ledger table restored with fewer rows than the base backup counted.
    clock.set(STARTED_AT + 3_600_000);
    const host = new StubbedPitrRestore({ ...TABLES, 'public.ledger_7': 3, 'public.sessions': 120 });
    const handler = createBackupsHandler(runtime, { destination: { objects, bucket: BUCKET }, drillRunner: host });
    // Act
    const result = await handler({ task: 'pitr-drill' }, context);
    // Assess
    expect(result).toMatchObject({ task: 'pitr-drill', outcome: 'failed' });
    const drill = (await runtime.ctx.incidents.listOpenIncidents()).find((i) => i.kind === 'drill');
    expect(drill?.title).toBe('Point-in-time restore drill of postgresql failed');
    expect(drill?.detail).toContain(
      'table public.ledger_7 has 3 rows restored, fewer than the 1007 the snapshot counted',
    );
    expect((await keys()).filter((k) => k.endsWith(PITR_REPORT_SUFFIX))).toEqual([]);
  }, 30_000);

  it('fails the drill, saying why, when the report is neither in the cut output nor in the bucket', async () => {
    // Prepare: the host could not write its report (the upload failed), and SSM cut the printed one.
    clock.set(STARTED_AT + 2 * 3_600_000);
    const host = new StubbedPitrRestore({ ...TABLES, 'public.sessions': 300 }, false);
    const handler = createBackupsHandler(runtime, { destination: { objects, bucket: BUCKET }, drillRunner: host });
    // Act
    const result = await handler({ task: 'pitr-drill' }, context);
    // Assess
    expect(result).toMatchObject({
      task: 'pitr-drill',
      outcome: 'failed',
      reasons: [
        `the restore succeeded but its report was not found: not in its output (SSM keeps only its start), nor in pitr-20261206T070000000Z${PITR_REPORT_SUFFIX}`,
      ],
    });
  }, 30_000);
});
