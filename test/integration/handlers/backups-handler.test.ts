import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Message } from '@aws-sdk/client-sqs';
import { ListCommandsCommand } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../lambdas/adapters/aws/s3-object-store.ts';
import { DRILL_SUFFIX } from '../../../lambdas/core/backup-records.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { BACKUP_DOCUMENT, DRILL_DOCUMENT } from '../../../lambdas/core/document-names.ts';
import { type AwsRuntime, createAwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { createBackupsHandler, DRILL_MARGIN_MS } from '../../../lambdas/handlers/backups.ts';
import { createCommandStatusHandler } from '../../../lambdas/handlers/command-status.ts';
import type { CommandRequest, CommandResult, CommandRunner, ObjectStore } from '../../../lambdas/ports.ts';
import { type AwsControlPlane, createAwsControlPlane, launchTaggedInstances } from '../../support/aws-control-plane.ts';
import { ManualClock } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { useMotoServer } from '../../support/moto.ts';

/**
 * The backups Lambda end to end with its real adapters against moto_server: the backup command goes out through SSM
 * SendCommand (dispatch), the monitor reads the bucket and keeps its incident in DynamoDB, pages over SNS (delivered
 * to SQS) and publishes on EventBridge, retention and the drill report work on the S3 bucket. The backup command's
 * outcome comes back to the command-status Lambda as SSM's status-change event, written here as EventBridge sends it.
 *
 * What moto cannot do is run a document: SendCommand is recorded, never executed. So the backup's published dump and
 * manifest are put into the bucket by the test (as the document would publish them), and the drill's waiting
 * runner is a scripted fake returning what the drill document prints on success (its last line: the report). The
 * documents themselves run against real PostgreSQL in test/integration/backup-documents.test.ts.
 */
const moto = useMotoServer();
const TABLE = 'acgs-control';
const BUS = 'acgs-1-events';
const BUCKET = 'acgs-1-backups';
const STACK = 'acgs-1-ops-control-plane';
const DOCUMENT_NAMES = {
  [BACKUP_DOCUMENT]: `${STACK}-${BACKUP_DOCUMENT}`,
  [DRILL_DOCUMENT]: `${STACK}-${DRILL_DOCUMENT}`,
};
const REMAINING_MS = 15 * 60_000;
const context = lambdaContext('acgs-backups', REMAINING_MS);

/** The drill document's answer, scripted: moto records SendCommand but never runs a document. */
class ScriptedDrillRunner implements CommandRunner {
  readonly requests: CommandRequest[] = [];
  constructor(private readonly answer: (request: CommandRequest) => CommandResult) {}
  async run(request: CommandRequest): Promise<CommandResult> {
    this.requests.push(request);
    return this.answer(request);
  }
}

/** When the daily backup task runs in the first test. */
const SENT_AT = Date.UTC(2026, 11, 1, 3, 0, 0);
const clock = new ManualClock(SENT_AT);
let config: FleetConfig;
let runtime: AwsRuntime;
let objects: ObjectStore;
let plane: AwsControlPlane;
let instanceId: string;
let prefix: string;

/** A published backup as the backup document leaves it: the dump, then the manifest naming it. */
interface Published {
  readonly id: string;
  readonly dumpKey: string;
  readonly sha256: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly tableDataEntries: number;
}

async function publishBackup(id: string, startedAt: Date, options: { storeDump?: boolean } = {}): Promise<Published> {
  const dump = Buffer.alloc(4096, `PGDMP ${id} `);
  const sha256 = createHash('sha256').update(dump).digest('hex');
  const dumpKey = `${id}.dump`;
  const finishedAt = new Date(startedAt.getTime() + 5 * 60_000);
  if (options.storeDump ?? true) await objects.put(dumpKey, dump);
  const manifest = {
    kind: 'acgs-ops.backup',
    version: 1,
    id,
    database: 'acgs_pgp_db',
    host: '127.0.0.1',
    port: 5432,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    dumpKey,
    sizeBytes: dump.byteLength,
    sha256,
    format: 'custom',
    tocEntries: 24,
    tableDataEntries: 6,
    pgDumpVersion: '15.8',
  };
  await objects.put(`${id}.manifest.json`, JSON.stringify(manifest), { contentType: 'application/json' });
  return {
    id,
    dumpKey,
    sha256,
    startedAt: manifest.startedAt,
    finishedAt: manifest.finishedAt,
    tableDataEntries: manifest.tableDataEntries,
  };
}

const pages = (): Promise<Message[]> => plane.pages(1, 1);

const subjectOf = (m: Message) => String((JSON.parse(m.Body ?? '{}') as { Subject?: string }).Subject);

async function keys(): Promise<string[]> {
  return (await objects.list('')).map((o) => o.key).sort();
}

beforeAll(async () => {
  // The database host: an EC2 instance with the fleet tag.
  [instanceId = ''] = await launchTaggedInstances(moto.endpoint, { 'acgs:fleet': 'acgs-1' });
  expect(instanceId).toMatch(/^i-[0-9a-f]{17}$/);

  // The shipped config, with the database host named.
  const text = readFileSync(new URL('../../../config/acgs-1.yaml', import.meta.url), 'utf8').replace(
    '  database: postgresql\n',
    `  database: postgresql\n  instanceId: ${instanceId}\n`,
  );
  const parsed = parseFleetConfig(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  config = parsed.config;
  prefix = config.backups?.s3Prefix ?? '';
  expect(config.backups?.instanceId).toBe(instanceId);

  plane = await createAwsControlPlane(moto.endpoint, {
    levels: config.escalation.levels.map((l) => l.level),
    subscribe: [1],
    documents: Object.keys(DOCUMENT_NAMES),
    bucket: BUCKET,
    env: { ACGS_BACKUP_BUCKET: BUCKET },
    table: TABLE,
    bus: BUS,
    stack: STACK,
  });
  runtime = createAwsRuntime(config, plane.env, plane.clients, clock);
  objects = new S3ObjectStore(plane.clients.s3Objects, { bucket: BUCKET, prefix });
}, 60_000);

describe('the backups Lambda against moto', () => {
  let good: Published;
  const drillRunner = new ScriptedDrillRunner((request) => ({
    status: 'succeeded',
    commandId: 'drill-command-1',
    output: [
      `sent ${DOCUMENT_NAMES[DRILL_DOCUMENT]} as command drill-command-1 to instances ${instanceId}`,
      'fetching the dump... restoring... dropping the scratch database',
      JSON.stringify({
        kind: 'acgs-ops.drill',
        version: 1,
        source: request.parameters.Source,
        sha256: request.parameters.ExpectedSha256,
        restoreSeconds: 42.5,
        tables: 6,
        tableDataEntries: Number(request.parameters.ExpectedTableDataEntries),
        startedAt: new Date(clock.now()).toISOString(),
        finishedAt: new Date(clock.now() + 60_000).toISOString(),
      }),
      '',
    ].join('\n'),
  }));
  const handler = () =>
    createBackupsHandler(runtime, { destination: { objects, bucket: BUCKET }, drillRunner: drillRunner });

  it('a task that starts while the same task still runs (a second delivery of its schedule) does nothing', async () => {
    // Prepare: another invocation holds the backup task's lease for its 15 minutes.
    const until = clock.now() + REMAINING_MS;
    await runtime.ctx.control.acquireLease('backup:backup', 'req-running', clock.now(), until);
    // Act
    const result = await handler()({ task: 'backup' }, { ...context, awsRequestId: 'req-duplicate' });
    // Assess: no command sent; the answer says who holds the lease until when.
    const at = new Date(until).toISOString();
    expect(result).toEqual({
      task: 'backup',
      skipped: `skipped: previous backup:backup cycle still running (lease held by req-running until ${at})`,
      heldBy: 'req-running',
      until: at,
    });
    expect((await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? []).toEqual([]);
    expect(await runtime.ctx.control.releaseLease('backup:backup', 'req-running')).toBe(true);
  }, 30_000);

  it('task backup: sends acgs-backup-database to the database host, publishing to the bucket prefix', async () => {
    const result = await handler()({ task: 'backup' }, context);
    expect(result).toMatchObject({ task: 'backup', status: 'pending', id: 'acgs_pgp_db-20261201T030000Z' });
    const commands = (await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(commands).toHaveLength(1);
    const [command] = commands;
    expect(command?.DocumentName).toBe(DOCUMENT_NAMES[BACKUP_DOCUMENT]);
    expect(command?.InstanceIds).toEqual([instanceId]);
    expect(command?.Parameters?.Destination).toEqual([`s3://${BUCKET}/${prefix}`]);
    expect(command?.Parameters?.BackupId).toEqual(['acgs_pgp_db-20261201T030000Z']);
    expect(command?.Parameters?.DatabaseName).toEqual(['acgs_pgp_db']);
  }, 30_000);

  it('task monitor, nothing published: opens one P2 backup incident and pages level 1', async () => {
    const result = await handler()({ task: 'monitor' }, context);
    expect(result).toMatchObject({ task: 'monitor', status: 'missing' });
    const open = await runtime.ctx.incidents.listOpenIncidents();
    const backup = open.filter((i) => i.dedupKey.startsWith('backup:'));
    expect(backup.map((i) => i.severity)).toEqual(['P2']);
    // backups.drill is configured and no drill was ever recorded: the drill incident is its own, a P3.
    expect(open.filter((i) => i.kind === 'drill').map((i) => i.severity)).toEqual(['P3']);
    const subjects = (await pages()).map(subjectOf);
    expect(subjects.filter((s) => s.includes('[P2]'))).toHaveLength(1);
    expect(subjects.find((s) => s.includes('[P2]'))).toContain('Backups of postgresql: missing');
  }, 30_000);

  it('task monitor, a good backup published: resolves the backup incident', async () => {
    good = await publishBackup('acgs_pgp_db-20261201T025000Z', new Date(Date.UTC(2026, 11, 1, 2, 50, 0)));
    clock.set(Date.UTC(2026, 11, 1, 3, 5, 0));
    const result = await handler()({ task: 'monitor' }, context);
    expect(result).toMatchObject({ task: 'monitor', status: 'ok', reasons: [] });
    const open = await runtime.ctx.incidents.listOpenIncidents();
    expect(open.filter((i) => i.dedupKey.startsWith('backup:'))).toEqual([]);
  }, 30_000);

  it('task retention after a failed latest attempt: refuses and deletes nothing', async () => {
    // An older bad backup (its dump never arrived) that retention would otherwise delete, then a failed attempt.
    await publishBackup('acgs_pgp_db-20261128T020000Z', new Date(Date.UTC(2026, 10, 28, 2, 0, 0)), {
      storeDump: false,
    });
    const failedId = 'acgs_pgp_db-20261202T020000Z';
    await objects.put(
      `${failedId}.failed.json`,
      JSON.stringify({
        kind: 'acgs-ops.backup-failure',
        version: 1,
        id: failedId,
        database: 'acgs_pgp_db',
        startedAt: '2026-12-02T02:00:00.000Z',
        failedAt: '2026-12-02T02:01:00.000Z',
        reason: 'pg_dump: error: connection to server failed',
      }),
      { contentType: 'application/json' },
    );
    clock.set(Date.UTC(2026, 11, 2, 3, 0, 0));
    const before = await keys();
    const result = await handler()({ task: 'retention' }, context);
    expect(result).toMatchObject({ task: 'retention', deleted: [] });
    expect(String((result as { refused: unknown }).refused)).toContain(`latest attempt ${failedId} failed`);
    expect(await keys()).toEqual(before);
    expect(before).toContain('acgs_pgp_db-20261128T020000Z.manifest.json');
  }, 30_000);

  it('task drill: restores the newest good backup within the Lambda time left and stores the .drill.json report', async () => {
    clock.set(Date.parse(good.finishedAt) + 5 * 60_000);
    const result = await handler()({ task: 'drill' }, context);
    // Dumps only: the drill passes; a disaster at its moment would lose up to a day, which no drill meets
    expect(result).toMatchObject({ task: 'drill', backup: good.id, status: 'succeeded', met: false, passed: true });
    expect(drillRunner.requests).toHaveLength(1);
    const [request] = drillRunner.requests;
    expect(request?.document).toBe(DRILL_DOCUMENT);
    expect(request?.parameters.Source).toBe(`s3://${BUCKET}/${prefix}${good.dumpKey}`);
    expect(request?.parameters.ExpectedSha256).toBe(good.sha256);
    // The document's own limit (3600 s by default) is cut to what the Lambda has left, minus the margin.
    const budget = REMAINING_MS - DRILL_MARGIN_MS;
    expect(request?.parameters.TimeoutSeconds).toBe(String(budget / 1000));
    expect(request?.timeoutMs).toBeLessThanOrEqual(budget);
    const reports = (await keys()).filter((k) => k.endsWith(DRILL_SUFFIX));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(new RegExp(`^${good.id}-.*${DRILL_SUFFIX.replace('.', '\\.')}$`));
    const stored = await objects.get(reports[0] ?? '');
    expect(JSON.parse(Buffer.from(stored?.body ?? new Uint8Array()).toString('utf8'))).toMatchObject({
      kind: 'acgs-ops.drill',
      sha256: good.sha256,
      tableDataEntries: good.tableDataEntries,
    });
    // The passed drill resolved the drill incident the first monitor opened.
    expect((await runtime.ctx.incidents.listOpenIncidents()).filter((i) => i.kind === 'drill')).toEqual([]);
  }, 30_000);

  /** The SSM status-change event of the backup command the first test sent, as EventBridge delivers it. */
  async function backupCommandEvent(status: string) {
    const [command] = (await plane.clients.ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(command?.DocumentName).toBe(DOCUMENT_NAMES[BACKUP_DOCUMENT]);
    return {
      version: '0',
      id: `e-${status}`,
      source: 'aws.ssm',
      'detail-type': 'EC2 Command Status-change Notification',
      account: '123456789012',
      time: new Date(clock.now()).toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`],
      detail: {
        'command-id': command?.CommandId,
        'document-name': command?.DocumentName,
        'expire-after': new Date(clock.now() + 3_600_000).toISOString(),
        parameters: { BackupId: command?.Parameters?.BackupId },
        // When the first test sent it by the test's clock (moto stamps the wall clock).
        'requested-date-time': new Date(SENT_AT).toISOString(),
        status,
      },
    };
  }

  it('command-status Lambda: a Success event of the backup command opens no incident', async () => {
    // Prepare: the command ends minutes after the drill
    clock.advance(10 * 60_000);
    const event = await backupCommandEvent('Success');
    // Act
    const result = await createCommandStatusHandler(runtime)(event, context);
    // Assess
    expect(result).toEqual({
      commandId: event.detail['command-id'],
      document: BACKUP_DOCUMENT,
      outcome: 'succeeded',
      incidentId: null,
    });
    expect((await runtime.ctx.incidents.listOpenIncidents()).filter((i) => i.dedupKey.startsWith('backup:'))).toEqual(
      [],
    );
  }, 30_000);

  it('command-status Lambda: a Failed event of the backup command opens the P2 backup incident and pages level 1', async () => {
    // Prepare
    clock.advance(10 * 60_000);
    const event = await backupCommandEvent('Failed');
    // Act
    const result = await createCommandStatusHandler(runtime)(event, context);
    // Assess
    const backup = (await runtime.ctx.incidents.listOpenIncidents()).filter((i) => i.dedupKey.startsWith('backup:'));
    expect(backup.map((i) => [i.severity, i.title])).toEqual([
      ['P2', 'Backups of postgresql: the latest attempt failed'],
    ]);
    expect(result).toEqual({
      commandId: event.detail['command-id'],
      document: BACKUP_DOCUMENT,
      outcome: 'failed',
      incidentId: backup[0]?.id,
    });
    expect(backup[0]?.detail).toBe(
      `backup command ${event.detail['command-id']} on ${instanceId} failed: SSM status Failed`,
    );
    expect(backup[0]?.failingSince).toBe(SENT_AT);
    const subjects = (await pages()).map(subjectOf);
    expect(subjects.filter((s) => s.includes('[P2]') && s.includes('the latest attempt failed'))).toHaveLength(1);
  }, 30_000);

  it('refuses an event that is not a backup task, naming the expected shape', async () => {
    await expect(handler()({ task: 'vacuum' }, context)).rejects.toThrow(
      '{"task": "backup"|"monitor"|"retention"|"drill"|"base-backup"|"config-archive"|"canary"|"pitr-drill"}',
    );
    await expect(handler()({}, context)).rejects.toThrow(/expected \{"task"/);
  }, 30_000);
});
