import { Aws } from 'aws-cdk-lib';
import { Effect, type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { EscalationLevel } from '../../lambdas/core/config-schema.ts';
import { alarmArnPattern } from './control-plane-key.ts';

export interface EscalationTopicsProps {
  /** The escalation levels of the fleet config, numbered 1, 2, 3... */
  readonly levels: readonly EscalationLevel[];
  /** Prefix of the topics' display names (the fleet name). */
  readonly displayPrefix: string;
  /** The control plane's key (`ControlPlaneKey`), whose policy lets CloudWatch alarms publish. */
  readonly key: IKey;
}

/**
 * One SNS topic per escalation level, each subscribed by the e-mail addresses of that level's contacts, all
 * encrypted with the control plane's customer-managed key (see `ControlPlaneKey` for why not `alias/aws/sns`).
 */
export class EscalationTopics extends Construct {
  readonly key: IKey;
  /** Level number -> topic. */
  readonly topics: ReadonlyMap<number, Topic>;

  constructor(scope: Construct, id: string, props: EscalationTopicsProps) {
    super(scope, id);
    const { levels } = props;
    this.key = props.key;

    const topics = new Map<number, Topic>();
    for (const level of levels) {
      const topic = new Topic(this, `Level${level.level}`, {
        displayName: `${props.displayPrefix} L${level.level} ${level.name}`.slice(0, 100),
        masterKey: this.key,
        enforceSSL: true,
      });
      // The topic policy replaces SNS's default one, so the alarm service must be named here too.
      topic.addToResourcePolicy(
        new PolicyStatement({
          sid: 'AllowCloudWatchAlarms',
          effect: Effect.ALLOW,
          principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: {
            StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
            ArnLike: { 'aws:SourceArn': alarmArnPattern(this) },
          },
        }),
      );
      for (const email of contactEmails(level)) topic.addSubscription(new EmailSubscription(email));
      topics.set(level.level, topic);
    }
    this.topics = topics;
  }

  /** The topic of `level`; throws for a level the config does not have. */
  topic(level: number): Topic {
    const topic = this.topics.get(level);
    if (!topic) throw new Error(`there is no escalation level ${level}`);
    return topic;
  }

  /** Level number ("1".."9") -> topic ARN, the shape of ACGS_TOPIC_ARNS. */
  topicArnsByLevel(): Record<string, string> {
    return Object.fromEntries([...this.topics].map(([level, topic]) => [String(level), topic.topicArn]));
  }

  /** Publish to every level's topic: sns:Publish on the topics and the key's data-key use through SNS, nothing wider. */
  grantPublish(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sns:Publish'],
        resources: [...this.topics.values()].map((t) => t.topicArn),
      }),
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

/** The distinct e-mail addresses of a level's contacts (contacts without one are paged by other channels). */
export function contactEmails(level: EscalationLevel): string[] {
  return [...new Set(level.contacts.flatMap((c) => (c.email === undefined ? [] : [c.email])))];
}
