import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKUP_DOCUMENT, RESTART_DOCUMENT } from '../../lambdas/core/document-names.ts';
import { addControlPlane } from '../../lib/app.ts';
import { describeStackChecks } from '../support/stack-checks.ts';
import { ACGS_CONFIG, type Json, REPOSITORY_ROOT, useSynthesizedStack } from '../support/synth-stack.ts';

/**
 * The backups part of the stack under config variants the shipped config does not cover: a database host named in
 * the config (no deploy-time parameter; SendCommand on that one instance), no restore drill, and a drill that is
 * configured but never scheduled.
 */
const HOST = 'i-0123456789abcdef0';
const temporary: string[] = [];

function variant(name: string, edit: (text: string) => string): string {
  const original = readFileSync(ACGS_CONFIG, 'utf8');
  const text = edit(original);
  if (text === original) throw new Error(`variant ${name} changed nothing`);
  const dir = mkdtempSync(join(tmpdir(), 'acgs-backup-config-'));
  temporary.push(dir);
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

// The database host named in the config, and no restore drill (nor its schedule: the config refuses one alone).
const fleet = useSynthesizedStack(() =>
  variant('named-host-no-drill', (text) =>
    text
      .replace('  database: postgresql\n', `  database: postgresql\n  instanceId: ${HOST}\n`)
      .replace(/ {2}drill:\n {4}scratchDatabase: acgs_restore_drill\n {4}maxAge: 8d\n/, '')
      .replace('  drill: { cron: "0 4 * * 1" }\n', ''),
  ),
);
const props = fleet.props;

afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

describe('backups with the database host in the config and no drill', () => {
  it('asks for no deploy-time parameter and gives the Lambda the configured host', () => {
    expect(fleet.stack.backupInstanceParameter).toBeUndefined();
    expect(Object.keys(fleet.template.toJSON().Parameters ?? {})).not.toContain('BackupInstanceId');
    const f = fleet.stack.functions.backups;
    if (!f) throw new Error('no backups Lambda');
    expect(props(f.fn).Environment.Variables.ACGS_BACKUP_INSTANCE_ID).toBe(HOST);
  });

  it('lets the backups Lambda send commands to that one instance only, still only with the fleet tag', () => {
    const f = fleet.stack.functions.backups;
    if (!f) throw new Error('no backups Lambda');
    const stack = Stack.of(fleet.stack);
    const statements = props(f.role.node.findChild('DefaultPolicy')).PolicyDocument.Statement as Json[];
    expect(statements.filter((s) => s.Sid === 'OnFleetInstancesOnly')).toEqual([
      expect.objectContaining({
        Action: 'ssm:SendCommand',
        Resource: stack.resolve(stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: HOST })),
        Condition: { StringEquals: { 'ssm:resourceTag/acgs:fleet': 'acgs-1' } },
      }),
    ]);
  });

  it('routes the status changes of the backup document to the command-status Lambda, which may page', () => {
    const rule = fleet.stack.events.commandStatusRule;
    if (!rule) throw new Error('no command status rule');
    const { documentNames } = fleet.stack.runbooks;
    expect(props(rule).EventPattern.detail['document-name']).toEqual([
      documentNames[RESTART_DOCUMENT],
      documentNames[BACKUP_DOCUMENT],
    ]);
    const statements = props(fleet.stack.functions.commandStatus.role.node.findChild('DefaultPolicy')).PolicyDocument
      .Statement as Json[];
    expect(statements.filter((s) => [s.Action].flat().includes('sns:Publish'))).toHaveLength(1);
  });

  it('schedules backup, monitor, retention and the configuration archive, and no drill', () => {
    expect([...fleet.stack.schedules.schedules.keys()].sort()).toEqual(
      ['backup', 'backupMonitor', 'cleanup', 'configArchive', 'escalationSweep', 'probe'].sort(),
    );
  });
});

describeStackChecks(() => fleet.synth, { context: 'database host in the config' });

describe('a restore drill that is configured but not scheduled', () => {
  it('stops the synth, naming schedules.drill', () => {
    const path = variant('unscheduled-drill', (text) => text.replace('  drill: { cron: "0 4 * * 1" }\n', ''));
    expect(() =>
      addControlPlane(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), {
        configPath: path,
        documentsDir: join(REPOSITORY_ROOT, 'ssm-documents'),
      }),
    ).toThrow(/backups\.drill is set but schedules\.drill is not/);
  });
});
