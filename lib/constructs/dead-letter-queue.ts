import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /** What lands here, for the alarm and the people reading it ("probe schedule invocations that failed"). */
  readonly purpose: string;
  /**
   * How long a failed event is kept for inspection and redrive.
   * @default Duration.days(14) (the SQS maximum)
   */
  readonly retentionPeriod?: Duration;
}

/**
 * A dead-letter queue with the house defaults: SSE-SQS encryption, TLS-only access, 14 days of retention. Every
 * instance in the stack gets a "messages visible" alarm from `ControlPlaneMonitoring`, which finds them by type, so
 * a new queue cannot be left unwatched.
 *
 * SSE-SQS rather than a customer-managed key: the senders are AWS services (EventBridge Scheduler, EventBridge rules,
 * Lambda destinations) that would each need a key-policy grant, and the queues only ever hold copies of our own
 * events, never secrets.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: Queue;
  readonly purpose: string;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.purpose = props.purpose;
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        `This queue is itself a dead-letter queue: it holds ${props.purpose}. cdk-nag only recognises queue redrive ` +
        'and Lambda DeadLetterConfig as dead-letter use; a queue behind this one would have no producer. Its depth ' +
        'is alarmed instead (ControlPlaneMonitoring).',
    });
  }
}
