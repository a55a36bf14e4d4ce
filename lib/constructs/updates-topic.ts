import { Aws } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface UpdatesTopicProps {
  /** Prefix of the topic's display name (the fleet name). */
  readonly displayPrefix: string;
  /** The control plane's key (`ControlPlaneKey`), which encrypts the escalation topics too. */
  readonly key: IKey;
}

/**
 * The SNS topic of lifecycle notices (opened, acknowledged, update, SLA breached, resolved, maintenance; the kinds of
 * `notifications.snsEvents`): for stakeholders who want to follow incidents without being paged. Its subscriptions
 * are managed outside the stack, like the level topics' beyond their contacts' e-mail. Encrypted with the control
 * plane's key and refusing plain HTTP, like the level topics; no CloudWatch alarm publishes to it.
 */
export class UpdatesTopic extends Construct {
  readonly topic: Topic;
  private readonly key: IKey;

  constructor(scope: Construct, id: string, props: UpdatesTopicProps) {
    super(scope, id);
    this.key = props.key;
    this.topic = new Topic(this, 'Topic', {
      displayName: `${props.displayPrefix} incident updates`.slice(0, 100),
      masterKey: props.key,
      enforceSSL: true,
    });
  }

  /** sns:Publish on this topic and the key's data-key use through SNS, nothing wider. */
  grantPublish(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `sns.${Aws.REGION}.amazonaws.com` } },
      }),
    );
  }
}
