import 'aws-sdk-client-mock-vitest/extend';
import { readFileSync } from 'node:fs';
import {
  CancelCommandCommand,
  type CommandInvocation,
  CreateDocumentCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SsmCommandRunner, type SsmCommandRunnerOptions } from '../../../lambdas/adapters/aws/ssm-command-runner.ts';
import { mapCommandStatus, parseCommandStatusEvent } from '../../../lambdas/adapters/aws/ssm-status-event.ts';
import { serviceCommandParameters } from '../../../lambdas/core/document-parameters.ts';
import type { CommandRequest } from '../../../lambdas/ports.ts';
import { loadShippedConfig, ManualClock, SECOND, T0 } from '../../support/harness.ts';
import { awsCli, awsClientConfig, useMotoServer } from '../../support/moto.ts';

const moto = useMotoServer();
const DEPLOYED = 'ACGS-RestartService';
const FLEET_TAG = { key: 'acgs:fleet', value: 'acgs-1' };
const restart: CommandRequest = {
  document: 'acgs-restart-service',
  parameters: serviceCommandParameters(loadShippedConfig(), 'auth'),
  timeoutMs: 300 * SECOND,
};

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8'));
}

describe('SsmCommandRunner against moto (SendCommand, ListCommands)', () => {
  let ssm: SSMClient;
  let tagged: string[];
  let untagged: string;

  beforeAll(async () => {
    ssm = new SSMClient(awsClientConfig(moto.endpoint));
    // The real document, registered as the stack registers it.
    await ssm.send(
      new CreateDocumentCommand({
        Name: DEPLOYED,
        DocumentType: 'Command',
        DocumentFormat: 'YAML',
        Content: readFileSync(new URL('../../../ssm-documents/acgs-restart-service.yaml', import.meta.url), 'utf8'),
      }),
    );
    const run = async (tags: string) =>
      (await awsCli(moto.endpoint, [
        'ec2',
        'run-instances',
        '--image-id',
        'ami-12c6146b',
        '--count',
        tags ? '2' : '1',
        ...(tags ? ['--tag-specifications', tags] : []),
        '--query',
        'Instances[].InstanceId',
      ])) as string[];
    tagged = (await run(`ResourceType=instance,Tags=[{Key=${FLEET_TAG.key},Value=${FLEET_TAG.value}}]`)).sort();
    untagged = (await run(''))[0] ?? '';
  });
  afterAll(() => ssm.destroy());

  const runner = (options: Partial<SsmCommandRunnerOptions> = {}) =>
    new SsmCommandRunner(ssm, {
      mode: 'dispatch',
      documentNames: { 'acgs-restart-service': DEPLOYED },
      target: { tags: [FLEET_TAG] },
      logGroupName: '/acgs/commands',
      ...options,
    });

  async function recorded(commandId: string | undefined) {
    const out = await ssm.send(new ListCommandsCommand({ ...(commandId ? { CommandId: commandId } : {}) }));
    return out.Commands ?? [];
  }

  it('dispatches the restart document to the fleet tag and returns pending with the command id', async () => {
    const result = await runner().run(restart);
    expect(result).toMatchObject({ status: 'pending', commandId: expect.any(String) });
    expect(result.output).toContain(`sent ${DEPLOYED} as command ${result.commandId}`);
    const [command] = await recorded(result.commandId);
    expect(command).toMatchObject({
      DocumentName: DEPLOYED,
      Comment: 'acgs-ops acgs-restart-service',
      Targets: [{ Key: 'tag:acgs:fleet', Values: ['acgs-1'] }],
      TimeoutSeconds: 300,
      MaxConcurrency: '1',
      MaxErrors: '0',
    });
    expect(command?.Parameters).toEqual(
      Object.fromEntries(Object.entries(restart.parameters).map(([name, value]) => [name, [value]])),
    );
    expect(command?.Parameters?.ServiceName).toEqual(['auth']);
    // moto resolves the tag against its EC2 instances: the command reached the tagged ones only.
    expect([...(command?.InstanceIds ?? [])].sort()).toEqual(tagged);
  });

  it('dispatches to explicit instance ids without a tag target', async () => {
    const result = await runner({ target: { instanceIds: [untagged] } }).run(restart);
    const [command] = await recorded(result.commandId);
    expect(command?.Targets).toEqual([]);
    // moto adds every instance it knows to a command without targets (it filters EC2 by an empty target list), so
    // only membership can be checked here; the exact InstanceIds sent are checked with the mocked client below.
    expect(command?.InstanceIds).toContain(untagged);
    const invocation = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: result.commandId, InstanceId: untagged }),
    );
    expect(invocation.DocumentName).toBe(DEPLOYED);
  });

  it('chooses the target per request when given a function', async () => {
    const perService = runner({
      target: (request) =>
        request.parameters.ServiceName === 'auth' ? { tags: [FLEET_TAG] } : { instanceIds: [untagged] },
    });
    const auth = (await recorded((await perService.run(restart)).commandId))[0];
    expect(auth?.Targets).toEqual([{ Key: 'tag:acgs:fleet', Values: ['acgs-1'] }]);
    expect([...(auth?.InstanceIds ?? [])].sort()).toEqual(tagged);
    const gs = (await recorded((await perService.run({ ...restart, parameters: { ServiceName: 'gs' } })).commandId))[0];
    expect(gs?.Targets).toEqual([]);
    expect(gs?.Parameters).toEqual({ ServiceName: ['gs'] });
  });

  it('never asks for a delivery timeout under SSM minimum of 30 s, and passes the execution timeout parameter', async () => {
    const result = await runner({
      documentNames: { 'run-shell': 'AWS-RunShellScript' },
      executionTimeoutParameters: { 'run-shell': 'executionTimeout' },
    }).run({ document: 'run-shell', parameters: { commands: 'uptime' }, timeoutMs: 5 * SECOND });
    const [command] = await recorded(result.commandId);
    expect(command?.TimeoutSeconds).toBe(30);
    expect(command?.Parameters).toEqual({ commands: ['uptime'], executionTimeout: ['5'] });
  });

  it('sends several tags as several Targets, which SSM ANDs', async () => {
    const host = { key: 'acgs:host', value: 'app-1.acgs.internal' };
    const result = await runner({ target: { tags: [FLEET_TAG, host] } }).run(restart);
    expect(result.output).toContain('to instances tagged acgs:fleet=acgs-1 and acgs:host=app-1.acgs.internal');
    const [command] = await recorded(result.commandId);
    expect(command?.Targets).toEqual([
      { Key: 'tag:acgs:fleet', Values: ['acgs-1'] },
      { Key: 'tag:acgs:host', Values: ['app-1.acgs.internal'] },
    ]);
    // No instance of this file carries the host tag: the filters are ANDed, so the command reached none.
    expect(command?.InstanceIds).toEqual([]);
  });

  it('rejects an unmapped document, a bad instance id and a bad timeout without sending anything', async () => {
    const before = (await recorded(undefined)).length;
    expect(await runner().run({ ...restart, document: 'acgs-format-disk' })).toMatchObject({
      status: 'rejected',
      output: expect.stringMatching(/unknown document acgs-format-disk/),
    });
    expect(await runner({ target: { instanceIds: ['web-1'] } }).run(restart)).toMatchObject({
      status: 'rejected',
      output: expect.stringMatching(/"web-1" is not an instance id/),
    });
    expect(await runner({ target: { instanceIds: [] } }).run(restart)).toMatchObject({ status: 'rejected' });
    expect(await runner({ target: { tags: [] } }).run(restart)).toMatchObject({
      status: 'rejected',
      output: expect.stringMatching(/target needs 1 to 5 tags, got 0/),
    });
    expect(
      await runner({ target: { tags: [FLEET_TAG, { ...FLEET_TAG, value: 'acgs-2' }] } }).run(restart),
    ).toMatchObject({ status: 'rejected', output: expect.stringMatching(/target tag acgs:fleet is given twice/) });
    expect(await runner().run({ ...restart, timeoutMs: 0 })).toMatchObject({ status: 'rejected' });
    expect(await recorded(undefined)).toHaveLength(before);
  });
});

/**
 * moto 5.2.1 cannot play these: it has no ListCommandInvocations and no CancelCommand (both answer HTTP 500), and
 * every command it records is Success at once. The wait mode's polling and status mapping are therefore tested
 * with aws-sdk-client-mock, on scripted SSM answers.
 */
describe('SsmCommandRunner wait mode (aws-sdk-client-mock: moto lacks ListCommandInvocations and CancelCommand)', () => {
  const client = new SSMClient(awsClientConfig('http://127.0.0.1:9'));
  const ssm = mockClient(client);
  const COMMAND_ID = '5f7a6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
  let clock: ManualClock;
  let sleeps: number[];

  beforeEach(() => {
    ssm.reset();
    clock = new ManualClock(T0);
    sleeps = [];
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
  });
  afterAll(() => ssm.restore());

  const waiting = (options: Partial<SsmCommandRunnerOptions> = {}) =>
    new SsmCommandRunner(client, {
      mode: 'wait',
      documentNames: { 'acgs-restart-service': DEPLOYED },
      target: { instanceIds: ['i-0123456789abcdef0'] },
      logGroupName: '/acgs/commands',
      pollIntervalMs: 2 * SECOND,
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
      },
      ...options,
    });

  const command = (Status: string, StatusDetails: string = Status) =>
    ({ Commands: [{ CommandId: COMMAND_ID, Status, StatusDetails }] }) as never;
  const invocation = (
    InstanceId: string,
    Status: string,
    StatusDetails: string,
    ResponseCode: number,
    Output: string,
  ): CommandInvocation => ({
    CommandId: COMMAND_ID,
    InstanceId,
    Status: Status as CommandInvocation['Status'],
    StatusDetails,
    CommandPlugins: [{ Name: 'restartService', ResponseCode, Output }],
  });

  it('polls until Success and returns succeeded with the exit code and the script output', async () => {
    ssm
      .on(ListCommandsCommand)
      .resolvesOnce(command('Pending'))
      .resolvesOnce(command('InProgress', 'In Progress'))
      .resolves(command('Success'));
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        invocation('i-0123456789abcdef0', 'Success', 'Success', 0, 'auth: stopped\nauth: healthy (HTTP 200)'),
      ],
    });
    const result = await waiting().run(restart);
    expect(result).toMatchObject({ status: 'succeeded', exitCode: 0, commandId: COMMAND_ID });
    expect(result.output.trimEnd().split('\n').at(-1)).toBe('auth: healthy (HTTP 200)');
    expect(result.output).toContain('CloudWatch Logs /acgs/commands');
    expect(sleeps).toEqual([2 * SECOND, 2 * SECOND]);
    expect(ssm).toHaveReceivedCommandTimes(ListCommandsCommand, 3);
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: COMMAND_ID, Details: true });
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it('returns failed with the exit code and the script reason as the last line when the invocation failed', async () => {
    ssm.on(ListCommandsCommand).resolves(command('Failed'));
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        invocation(
          'i-0123456789abcdef0',
          'Failed',
          'Failed',
          1,
          'auth: stopping pid 42\n----------ERROR-------\nacgs-restart-service: cannot start auth: directory /srv/auth does not exist',
        ),
      ],
    });
    const result = await waiting().run(restart);
    expect(result).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(result.output.trimEnd().split('\n').at(-1)).toBe(
      'acgs-restart-service: cannot start auth: directory /srv/auth does not exist',
    );
  });

  it('fails when the summary says Success but one invocation was never delivered (DeliveryTimedOut is not an error to MaxErrors)', async () => {
    ssm.on(ListCommandsCommand).resolves(command('Success'));
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [
        invocation('i-0123456789abcdef0', 'Success', 'Success', 0, 'ok'),
        invocation('i-0fedcba9876543210', 'TimedOut', 'Delivery Timed Out', -1, ''),
      ],
    });
    const result = await waiting({ target: { tags: [FLEET_TAG] } }).run(restart);
    expect(result.status).toBe('failed');
    expect(result.exitCode).toBeUndefined();
    expect(result.output).toContain('i-0fedcba9876543210: TimedOut (Delivery Timed Out)');
  });

  it('returns timed-out when the script ran past its execution timeout', async () => {
    ssm.on(ListCommandsCommand).resolves(command('TimedOut', 'Execution Timed Out'));
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [invocation('i-0123456789abcdef0', 'TimedOut', 'Execution Timed Out', 124, 'waiting')],
    });
    expect(await waiting().run(restart)).toMatchObject({ status: 'timed-out', exitCode: 124 });
  });

  it('fails a command that finished without reaching any instance', async () => {
    ssm.on(ListCommandsCommand).resolves(command('Success'));
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    const result = await waiting({ target: { tags: [FLEET_TAG] } }).run(restart);
    expect(result.status).toBe('failed');
    expect(result.output).toMatch(/ran on no instance/);
  });

  it('reads every page of invocations', async () => {
    ssm.on(ListCommandsCommand).resolves(command('Success'));
    ssm
      .on(ListCommandInvocationsCommand)
      .resolvesOnce({
        CommandInvocations: [invocation('i-0123456789abcdef0', 'Success', 'Success', 0, 'a')],
        NextToken: 't',
      })
      .resolvesOnce({ CommandInvocations: [invocation('i-0fedcba9876543210', 'Failed', 'Failed', 3, 'b')] });
    expect(await waiting({ target: { tags: [FLEET_TAG] } }).run(restart)).toMatchObject({
      status: 'failed',
      exitCode: 3,
    });
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { NextToken: 't' });
  });

  it('gives up on a command stuck InProgress at the request timeout, cancels it and returns timed-out', async () => {
    ssm.on(ListCommandsCommand).resolves(command('InProgress'));
    ssm.on(CancelCommandCommand).resolves({});
    const result = await waiting().run({ ...restart, timeoutMs: 7 * SECOND });
    expect(result).toMatchObject({ status: 'timed-out', commandId: COMMAND_ID });
    expect(result.output).toMatch(/still InProgress after 7000 ms; cancel requested/);
    expect(sleeps).toEqual([2 * SECOND, 2 * SECOND, 2 * SECOND, SECOND]);
    expect(clock.now()).toBe(T0 + 7 * SECOND);
    expect(ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: COMMAND_ID });
    expect(ssm).not.toHaveReceivedCommand(ListCommandInvocationsCommand);
  });

  it('still returns timed-out, saying so, when the cancel itself fails', async () => {
    ssm.on(ListCommandsCommand).resolves(command('Pending'));
    ssm.on(CancelCommandCommand).rejects(Object.assign(new Error('no such command'), { name: 'InvalidCommandId' }));
    const result = await waiting().run({ ...restart, timeoutMs: SECOND });
    expect(result.status).toBe('timed-out');
    expect(result.output).toMatch(/cancel failed: InvalidCommandId: no such command/);
  });

  it('returns rejected when SSM refuses the parameters, and throws on any other SendCommand error', async () => {
    ssm
      .on(SendCommandCommand)
      .rejectsOnce(Object.assign(new Error('Port does not match allowedPattern'), { name: 'InvalidParameters' }))
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    expect(await waiting().run(restart)).toMatchObject({
      status: 'rejected',
      output: expect.stringMatching(/SSM refused ACGS-RestartService: InvalidParameters: Port does not match/),
    });
    await expect(waiting().run(restart)).rejects.toThrow(/Rate exceeded/);
    expect(ssm).not.toHaveReceivedCommand(ListCommandsCommand);
  });

  it('asks SSM for CloudWatch output, which moto does not record', async () => {
    await waiting({ mode: 'dispatch' }).run(restart);
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: '/acgs/commands' },
      InstanceIds: ['i-0123456789abcdef0'],
    });
    // Dispatch mode never polls.
    expect(ssm).not.toHaveReceivedCommand(ListCommandsCommand);
  });
});

describe('mapCommandStatus', () => {
  it.each([
    ['Pending', undefined, 'pending'],
    ['InProgress', undefined, 'pending'],
    ['InProgress', 'In Progress', 'pending'],
    ['Delayed', undefined, 'pending'],
    ['Pending', 'Delayed', 'pending'],
    ['Success', undefined, 'succeeded'],
    ['Success', 'Success', 'succeeded'],
    // moto's placeholder details: an unknown detail never overrides a known status.
    ['Success', 'Details placeholder', 'succeeded'],
    ['Failed', undefined, 'failed'],
    ['Failed', 'Failed', 'failed'],
    ['Failed', 'Incomplete', 'failed'],
    ['Success', 'Incomplete', 'failed'],
    ['Cancelled', undefined, 'failed'],
    ['Cancelled', 'Canceled', 'failed'],
    ['Cancelling', undefined, 'failed'],
    ['TimedOut', undefined, 'timed-out'],
    ['TimedOut', 'Execution Timed Out', 'timed-out'],
    ['TimedOut', 'ExecutionTimedOut', 'timed-out'],
    ['ExecutionTimedOut', undefined, 'timed-out'],
    ['TimedOut', 'Delivery Timed Out', 'failed'],
    ['DeliveryTimedOut', undefined, 'failed'],
    ['Delivery Timed Out', undefined, 'failed'],
    ['Undeliverable', undefined, 'failed'],
    ['Failed', 'Undeliverable', 'failed'],
    ['Terminated', undefined, 'failed'],
    ['Failed', 'Terminated', 'failed'],
    ['InvalidPlatform', undefined, 'failed'],
    ['Failed', 'Invalid Platform', 'failed'],
    ['AccessDenied', undefined, 'failed'],
    ['Failed', 'Access Denied', 'failed'],
    ['Failed', 'No Instances In Tag', 'failed'],
    ['Failed', 'Limit Exceeded', 'failed'],
    ['Failed', 'Rate Exceeded', 'failed'],
    ['Exploded', undefined, 'failed'],
    ['', undefined, 'failed'],
  ] as const)('maps %s (details %s) to %s', (status, details, expected) => {
    expect(mapCommandStatus(status, details)).toBe(expected);
  });
});

describe('parseCommandStatusEvent', () => {
  it('reads a command status-change event, with its only target instance (from resources) and its request time', () => {
    expect(parseCommandStatusEvent(fixture('ssm-command-status-change.json'))).toEqual({
      kind: 'command',
      commandId: '5f7a6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
      documentName: DEPLOYED,
      ssmStatus: 'Failed',
      status: 'failed',
      instanceId: 'i-0123456789abcdef0',
      targets: ['i-0123456789abcdef0'],
      requestedAt: Date.parse('2026-12-01T02:03:01.123Z'),
      eventAt: Date.parse('2026-12-01T02:03:04Z'),
    });
  });

  it('names no instance for a command sent to several, and reads a managed node as a sole target', () => {
    const event = fixture('ssm-command-status-change.json') as Record<string, unknown>;
    const several = {
      ...event,
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0',
        'arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210',
      ],
    };
    expect(parseCommandStatusEvent(several).instanceId).toBeUndefined();
    const node = { ...event, resources: ['arn:aws:ssm:us-east-1:123456789012:managed-instance/mi-0123456789abcdef0'] };
    expect(parseCommandStatusEvent(node).instanceId).toBe('mi-0123456789abcdef0');
  });

  it('reads an invocation status-change event with its instance, mapping DeliveryTimedOut to failed', () => {
    expect(parseCommandStatusEvent(fixture('ssm-command-invocation-status-change.json'))).toEqual({
      kind: 'invocation',
      commandId: '5f7a6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b',
      documentName: DEPLOYED,
      ssmStatus: 'DeliveryTimedOut',
      status: 'failed',
      instanceId: 'i-0123456789abcdef0',
      targets: ['i-0123456789abcdef0'],
      requestedAt: Date.parse('2026-12-01T02:03:01.123Z'),
      eventAt: Date.parse('2026-12-01T02:08:02Z'),
    });
  });

  it('refuses an event that is not an SSM command status change, naming the field', () => {
    const event = fixture('ssm-command-status-change.json') as { detail: Record<string, unknown> };
    const { 'command-id': _missing, ...detail } = event.detail;
    expect(() => parseCommandStatusEvent({ ...event, detail })).toThrow(/detail\.command-id/);
    expect(() => parseCommandStatusEvent({ ...event, source: 'aws.ec2' })).toThrow(/source/);
    expect(() =>
      parseCommandStatusEvent({ ...event, 'detail-type': 'EC2 Instance State-change Notification' }),
    ).toThrow(/detail-type/);
    const badTime = { ...event.detail, 'requested-date-time': 'yesterday' };
    expect(() => parseCommandStatusEvent({ ...event, detail: badTime })).toThrow(/detail\.requested-date-time/);
  });
});
