import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type ConfiguredSecret, secretReadStatements } from '../secrets.ts';

export interface FleetHostAccessProps {
  /** The fleet's name, for the policy's description. */
  readonly fleetName: string;
  /** The log group SSM Run Command sends every command's output to. */
  readonly commandOutput: ILogGroup;
}

/**
 * What the instance role of every fleet host needs, in one customer managed policy whose name CloudFormation
 * generates (a fixed name is account-wide and collides with the same fleet deployed in a second region):
 *
 * - the SSM Agent's core, for Run Command: registering and heartbeating the managed node, its message channels
 *   (`ec2messages`, and `ssmmessages` which newer agents also use), associations and documents. These are the
 *   actions of the AWS managed policy AmazonSSMManagedInstanceCore (version 2), which cannot be nested in a customer
 *   managed policy, minus `ssm:GetParameter(s)` (every parameter of the account; our documents read none) and the
 *   inventory, compliance, patching and Distributor calls. A fleet that also uses those attaches
 *   AmazonSSMManagedInstanceCore beside this policy;
 * - writing the documents' output to the command log group (without it the agent drops the output: it is lost);
 * - the secrets of the config that the hosts' documents read, added by `grantSecretReads`.
 */
export class FleetHostAccess extends ManagedPolicy {
  constructor(scope: Construct, id: string, props: FleetHostAccessProps) {
    super(scope, id, {
      description:
        `Attach to the instance role of every ${props.fleetName} fleet host: the SSM Agent's Run Command core and ` +
        'the command output log group',
      statements: [
        new PolicyStatement({
          sid: 'SsmAgentCore',
          actions: [
            'ssm:UpdateInstanceInformation',
            'ssm:ListAssociations',
            'ssm:ListInstanceAssociations',
            'ssm:DescribeAssociation',
            'ssm:UpdateAssociationStatus',
            'ssm:UpdateInstanceAssociationStatus',
            'ssm:GetDocument',
            'ssm:DescribeDocument',
          ],
          resources: ['*'],
        }),
        new PolicyStatement({
          sid: 'SsmAgentMessages',
          actions: [
            'ssmmessages:CreateControlChannel',
            'ssmmessages:CreateDataChannel',
            'ssmmessages:OpenControlChannel',
            'ssmmessages:OpenDataChannel',
            'ec2messages:AcknowledgeMessage',
            'ec2messages:DeleteMessage',
            'ec2messages:FailMessage',
            'ec2messages:GetEndpoint',
            'ec2messages:GetMessages',
            'ec2messages:SendReply',
          ],
          resources: ['*'],
        }),
        // The agent writes to the command log group (its ARN ends in :*, covering the streams)...
        new PolicyStatement({
          sid: 'CommandOutput',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [props.commandOutput.logGroupArn],
        }),
        // ...after checking that the group exists, which DescribeLogGroups answers only on the account's groups.
        new PolicyStatement({
          sid: 'FindCommandOutputGroup',
          actions: ['logs:DescribeLogGroups'],
          resources: [
            Arn.format(
              { service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME },
              Stack.of(scope),
            ),
          ],
        }),
      ],
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The SSM Agent calls (UpdateInstanceInformation, the ec2messages and ssmmessages channels, associations and ' +
        'documents) take no resource the host could name in advance; AmazonSSMManagedInstanceCore grants them on * ' +
        'as well. They reach only the calling managed node and the commands sent to it.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]',
      reason:
        'logs:DescribeLogGroups is authorized on the log groups of the account and region, not on one group; the ' +
        'SSM Agent calls it to find the command output group. It lists names and reads no log event.',
    });
  }

  /**
   * Lets every fleet host read these secrets of the config, with the statements the Lambdas and the database host
   * get (`secretReadStatements`: GetSecretValue on each secret alone, its customer managed key only through Secrets
   * Manager).
   */
  grantSecretReads(secrets: readonly ConfiguredSecret[]): void {
    for (const statement of secretReadStatements(secrets, Stack.of(this))) this.addStatements(statement);
  }
}
