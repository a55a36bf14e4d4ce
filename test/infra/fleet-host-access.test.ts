import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { FleetHostAccess } from '../../lib/constructs/fleet-host-access.ts';
import type { Json } from '../support/synth-stack.ts';

/** The construct alone, in a stack of its own: what `grantSecretReads` adds (the full stack grants no secret yet). */
function hostAccess() {
  const stack = new Stack(new App(), 'hosts', { env: { account: '123456789012', region: 'eu-west-1' } });
  const commandOutput = new LogGroup(stack, 'CommandOutput');
  const access = new FleetHostAccess(stack, 'FleetHostAccess', { fleetName: 'acgs-1', commandOutput });
  const statements = (): Json[] =>
    Object.values(Template.fromStack(stack).findResources('AWS::IAM::ManagedPolicy'))[0]?.Properties.PolicyDocument
      .Statement;
  return { stack, access, statements };
}

// The first synth loads most of aws-cdk-lib, which takes tens of seconds on a busy machine.
describe('FleetHostAccess.grantSecretReads', { timeout: 120_000 }, () => {
  it('lets the hosts read that one secret, matching the suffix Secrets Manager adds to a secret known by name', () => {
    // Prepare
    const { access, statements } = hostAccess();

    // Act
    access.grantSecretReads([
      { field: 'checks[0].passwordSecret', check: 'postgresql', ref: { id: 'acgs-1/database' } },
    ]);

    // Assess
    expect(statements().at(-1)).toEqual({
      Sid: 'ReadDatabaseSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:acgs-1/database-??????'],
        ],
      },
    });
  });

  it('grants a secret with a customer managed key its ARN and the key, only through Secrets Manager', () => {
    // Prepare
    const { access, statements } = hostAccess();
    const id = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:acgs-1/database-AbCdEf';
    const kmsKeyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    // Act
    access.grantSecretReads([{ field: 'checks[0].passwordSecret', check: 'postgresql', ref: { id, kmsKeyArn } }]);

    // Assess
    const [read, decrypt] = statements().slice(-2);
    expect(read).toEqual({
      Sid: 'ReadDatabaseSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: id,
    });
    expect(decrypt).toEqual({
      Sid: 'DecryptDatabaseSecrets',
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: kmsKeyArn,
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
  });

  it('adds nothing about secrets until one is granted', () => {
    expect(
      hostAccess()
        .statements()
        .flatMap((s) => [s.Action].flat())
        .filter((a: string) => /^(secretsmanager|kms):/.test(a)),
    ).toEqual([]);
  });
});
