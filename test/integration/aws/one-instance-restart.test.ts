import { readFileSync } from 'node:fs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SNSClient } from '@aws-sdk/client-sns';
import { CreateDocumentCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbHttpClient } from '../../../lambdas/adapters/aws/dynamodb-http.ts';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import type { FleetConfig } from '../../../lambdas/core/config-schema.ts';
import { type AwsClients, createAwsRuntime, parseHandlerEnvironment } from '../../../lambdas/handlers/aws-runtime.ts';
import { restartService } from '../../../lambdas/use-cases/service-procedures.ts';
import { ManualClock, T0 } from '../../support/harness.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';

/**
 * A restart sent by the Lambdas' own wiring (createAwsRuntime: commandTarget, SsmCommandRunner in dispatch mode)
 * reaches the one instance that runs the service, among several instances carrying the fleet tag. moto 5.2.1
 * resolves a command's tag Targets as EC2 filters (`tag:<key>` = values, the keys ANDed), as SSM does, and records
 * the instances it resolved in the command's InstanceIds.
 */
const moto = useMotoServer();
const DEPLOYED = 'ACGS-RestartService';

const config: FleetConfig = (() => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../../config/acgs-1-aws.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error(`config/acgs-1-aws.yaml is invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.config;
})();

describe('a restart on the AWS fleet (moto: EC2 instances with tags, SSM SendCommand)', () => {
  let ssm: SSMClient;
  let clients: AwsClients;
  const instances: Record<string, string> = {};

  /**
   * Starts one moto EC2 instance with these tags through EC2's Query API (the project has no EC2 SDK client, and the
   * AWS CLI takes seconds per call on a busy machine). moto routes by the credential scope of the Authorization
   * header and checks no signature, so none is computed.
   */
  async function runInstance(tags: Readonly<Record<string, string>>): Promise<string> {
    const form = new URLSearchParams({
      Action: 'RunInstances',
      Version: '2016-11-15',
      ImageId: 'ami-12c6146b',
      MinCount: '1',
      MaxCount: '1',
      'TagSpecification.1.ResourceType': 'instance',
    });
    Object.entries(tags).forEach(([key, value], i) => {
      form.set(`TagSpecification.1.Tag.${i + 1}.Key`, key);
      form.set(`TagSpecification.1.Tag.${i + 1}.Value`, value);
    });
    const response = await fetch(moto.endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization:
          'AWS4-HMAC-SHA256 Credential=testing/20261201/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: form.toString(),
    });
    const text = await response.text();
    const id = /<instanceId>(i-[0-9a-f]+)<\/instanceId>/.exec(text)?.[1];
    if (!response.ok || id === undefined) throw new Error(`RunInstances failed (HTTP ${response.status}): ${text}`);
    return id;
  }

  beforeAll(async () => {
    const endpoint = awsClientConfig(moto.endpoint);
    ssm = new SSMClient(endpoint);
    clients = {
      ssm,
      dynamodb: new DynamoDbHttpClient(endpoint),
      sns: new SNSClient(endpoint),
      events: new EventBridgeClient(endpoint),
    };
    await ssm.send(
      new CreateDocumentCommand({
        Name: DEPLOYED,
        DocumentType: 'Command',
        DocumentFormat: 'YAML',
        Content: readFileSync(new URL('../../../ssm-documents/acgs-restart-service.yaml', import.meta.url), 'utf8'),
      }),
    );
    const fleet = { 'acgs:fleet': 'acgs-1' };
    const machines: Record<string, Record<string, string>> = {
      // The fleet's four machines, each tagged with its host name...
      'app-1': { ...fleet, 'acgs:host': 'app-1.acgs.internal' },
      'app-2': { ...fleet, 'acgs:host': 'app-2.acgs.internal' },
      data: { ...fleet, 'acgs:host': 'data.acgs.internal' },
      ops: { ...fleet, 'acgs:host': 'ops.acgs.internal' },
      // ...a fleet machine without a host tag (a bastion, a build box with the checkout), and another fleet's
      // machine answering to the same host name.
      untagged: fleet,
      otherFleet: { 'acgs:fleet': 'acgs-2', 'acgs:host': 'app-1.acgs.internal' },
    };
    for (const [name, tags] of Object.entries(machines)) instances[name] = await runInstance(tags);
  });
  afterAll(() => {
    for (const client of Object.values(clients)) client.destroy();
  });

  const runtime = () =>
    createAwsRuntime(
      config,
      parseHandlerEnvironment({
        ACGS_TABLE_NAME: 'acgs-control',
        ACGS_EVENT_BUS_NAME: 'acgs-1-control-plane',
        ACGS_TOPIC_ARNS: JSON.stringify({ '1': 'arn:aws:sns:us-east-1:123456789012:level-1' }),
        ACGS_DOCUMENT_NAMES: JSON.stringify({ 'acgs-restart-service': DEPLOYED }),
        ACGS_COMMAND_LOG_GROUP: '/acgs/commands',
        POWERTOOLS_SERVICE_NAME: 'acgs-1-control-plane',
        POWERTOOLS_METRICS_NAMESPACE: 'ACGS/ControlPlane',
      }),
      clients,
      new ManualClock(T0),
    );

  async function sentTo(service: string) {
    const { result } = await restartService(runtime().ctx, { service });
    expect(result.status).toBe('pending');
    const out = await ssm.send(new ListCommandsCommand({ CommandId: result.commandId }));
    const [command] = out.Commands ?? [];
    if (!command) throw new Error(`no command recorded for ${result.commandId}`);
    return command;
  }

  it('reaches exactly the instance of the restarted service, among six that carry the fleet tag or its host name', async () => {
    // Act
    const auth = await sentTo('auth');
    const gs = await sentTo('gs');

    // Assess
    expect(auth.InstanceIds).toEqual([instances['app-1']]);
    expect(auth.Targets).toEqual([
      { Key: 'tag:acgs:fleet', Values: ['acgs-1'] },
      { Key: 'tag:acgs:host', Values: ['app-1.acgs.internal'] },
    ]);
    expect(auth.Parameters?.ServiceName).toEqual(['auth']);
    expect(gs.InstanceIds).toEqual([instances['app-2']]);
  });

  it('reaches no instance when no machine carries the service host tag yet, rather than every fleet instance', async () => {
    // Prepare: ec moved to a machine that is not tagged yet.
    const moved = {
      ...config,
      services: config.services.map((s) => (s.name === 'ec' ? { ...s, host: 'app-3.acgs.internal' } : s)),
    };
    const { result } = await restartService(createAwsRuntime(moved, runtime().env, clients, new ManualClock(T0)).ctx, {
      service: 'ec',
    });

    // Assess
    const [command] = (await ssm.send(new ListCommandsCommand({ CommandId: result.commandId }))).Commands ?? [];
    expect(command?.InstanceIds).toEqual([]);
  });
});
