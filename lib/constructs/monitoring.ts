import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  LogQueryVisualizationType,
  LogQueryWidget,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { SEVERITIES } from '../../lambdas/core/config-schema.ts';
import { CONTROL_PLANE_METRICS as M, PROBE_RESULT_LOG } from '../../lambdas/core/metrics.ts';
import { clamp } from '../schedule-period.ts';
import { ControlPlaneFunction } from './control-plane-function.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';

export interface ControlPlaneMonitoringProps {
  /** `backups.maxAge` in hours, when the fleet has backups: adds the backup-age widget. @default no widget */
  readonly backupMaxAgeHours?: number;
  /**
   * `recovery.rpo` in seconds, when the fleet has `backups.archiving`: adds the archive-lag widget (the lag beside the
   * objective) and the archive-lag alarm. @default neither
   */
  readonly archiveRpoSeconds?: number;
  /** POWERTOOLS_SERVICE_NAME of the Lambdas: the `service` dimension of every control-plane metric. */
  readonly serviceName: string;
  /** Seconds between two probe cycles. */
  readonly probePeriodSeconds: number;
  /** Where every alarm (and its recovery) is sent: the level-1 topic. */
  readonly alarmTopic: ITopic;
  /** The probe Lambda's log group: one `target-probed` line per target per cycle, read by the per-target widgets. */
  readonly probeLogGroup: ILogGroup;
  readonly dashboardName: string;
}

/**
 * Watching the watcher. A silent probe (no `ProbeCycles` datum for a whole alarm period, including when nothing at
 * all arrives) pages level 1; so does any Lambda error (but of a function that fails on purpose to be retried,
 * `alarmOnErrors: false`, whose dead-letter queue catches what still fails) and any message in any dead-letter
 * queue. The alarms for functions and queues are made for every `ControlPlaneFunction` and `DeadLetterQueue` in the stack, found by type
 * when this construct is created (so create it last): a new queue or function cannot be left unwatched.
 */
export class ControlPlaneMonitoring extends Construct {
  readonly heartbeatAlarm: Alarm;
  readonly errorAlarms: readonly Alarm[];
  readonly deadLetterAlarms: readonly Alarm[];
  readonly dashboard: Dashboard;
  /** The archive lag above `recovery.rpo`, or not measured for two hours (with `archiveRpoSeconds` only). */
  readonly archiveLagAlarm?: Alarm;

  constructor(scope: Construct, id: string, props: ControlPlaneMonitoringProps) {
    super(scope, id);
    const action = new SnsAction(props.alarmTopic);
    const watch = (alarm: Alarm): Alarm => {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      return alarm;
    };
    const metric = (metricName: string, dimensions: Record<string, string>, statistic: string, period: Duration) =>
      new Metric({
        namespace: M.namespace,
        metricName,
        dimensionsMap: { [M.dimensions.service]: props.serviceName, ...dimensions },
        statistic,
        period,
      });

    // Three probe periods, at least five minutes (a minute-by-minute heartbeat jitters across period boundaries),
    // rounded to whole minutes as CloudWatch wants.
    const heartbeatSeconds = Math.ceil(clamp(3 * props.probePeriodSeconds, 300, 86_400) / 60) * 60;
    this.heartbeatAlarm = watch(
      new Alarm(this, 'ProbeHeartbeat', {
        alarmDescription:
          `The probe reported no finished cycle for ${heartbeatSeconds / 60} minutes: the fleet is not being watched ` +
          '(schedule disabled, probe failing or timing out, metrics not published).',
        metric: metric(M.probeCycles, {}, 'Sum', Duration.seconds(heartbeatSeconds)),
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.BREACHING,
      }),
    );

    // The monitor measures the lag hourly. Maximum over two hours: one datum above the objective alarms at once, and
    // one late or skipped run (the other run of the window still reports) does not. Missing data breaches: no datum
    // for two hours means the monitor did not run (schedule disabled, backups Lambda failing: its error alarm says
    // which) or could not measure the lag (status unreadable, no base backup or nothing archived: the monitor's
    // archive incident says which); either way nothing shows the objective is met, which is what this alarm watches.
    const archiveLag =
      props.archiveRpoSeconds === undefined ? undefined : metric(M.archiveLagSeconds, {}, 'Maximum', Duration.hours(2));
    if (archiveLag && props.archiveRpoSeconds !== undefined)
      this.archiveLagAlarm = watch(
        new Alarm(this, 'ArchiveLag', {
          alarmDescription:
            `The WAL archive's lag (the current RPO: age of the newest restorable point) exceeded recovery.rpo ` +
            `(${props.archiveRpoSeconds} s), or the hourly backup monitor reported no lag for two hours (it did not ` +
            'run, or could not read the archive: see its incident). acgs-ops backup status says which.',
          metric: archiveLag,
          threshold: props.archiveRpoSeconds,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.BREACHING,
        }),
      );

    const stack = Stack.of(this);
    const functions = stack.node.findAll().filter((c): c is ControlPlaneFunction => c instanceof ControlPlaneFunction);
    this.errorAlarms = functions
      .filter((f) => f.alarmOnErrors)
      .map((f) =>
        watch(
          new Alarm(f, 'ErrorsAlarm', {
            alarmDescription: `The ${f.handlerName} Lambda failed (an error or a timeout) in the last 5 minutes.`,
            metric: f.fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
            threshold: 1,
            comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: TreatMissingData.NOT_BREACHING,
          }),
        ),
      );

    const queues = stack.node.findAll().filter((c): c is DeadLetterQueue => c instanceof DeadLetterQueue);
    this.deadLetterAlarms = queues.map((q) =>
      watch(
        new Alarm(q, 'MessagesAlarm', {
          alarmDescription: `Dead letters waiting: ${q.purpose}. Inspect them, fix the cause, then redrive or purge.`,
          metric: q.queue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(1),
            statistic: 'Maximum',
          }),
          threshold: 0,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          // An idle queue stops reporting: no data means no messages.
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      ),
    );

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          `# ${props.serviceName}\nHeadline from metrics; per-target availability (share of probes answered ` +
          "healthy), p95 latency and the latest failures from the probe's log (Logs Insights, over the dashboard's period).",
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Unhealthy targets',
        left: [metric(M.unhealthyTargets, {}, 'Maximum', Duration.minutes(1)).with({ label: 'unhealthy' })],
        leftYAxis: { min: 0 },
        width: 8,
      }),
      new GraphWidget({
        title: 'Open incidents by severity',
        left: SEVERITIES.map((severity) =>
          metric(M.openIncidents, { [M.dimensions.severity]: severity }, 'Maximum', Duration.minutes(1)).with({
            label: severity,
          }),
        ),
        leftYAxis: { min: 0 },
        width: 8,
      }),
      new GraphWidget({
        title: 'Probe cycles (heartbeat)',
        left: [metric(M.probeCycles, {}, 'Sum', Duration.minutes(1)).with({ label: 'cycles' })],
        leftYAxis: { min: 0 },
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Failed notice deliveries (channel: log line notice-failed)',
        left: [metric(M.noticeFailures, {}, 'Sum', Duration.minutes(5)).with({ label: 'failed' })],
        leftYAxis: { min: 0 },
        width: 24,
      }),
    );
    const F = PROBE_RESULT_LOG.fields;
    const probed = `filter message = "${PROBE_RESULT_LOG.message}"`;
    const logWidget = (title: string, lines: string[], width: number) =>
      new LogQueryWidget({
        title,
        logGroupNames: [props.probeLogGroup.logGroupName],
        queryLines: [probed, ...lines],
        view: LogQueryVisualizationType.TABLE,
        width,
        height: 8,
      });
    this.dashboard.addWidgets(
      logWidget(
        'Availability and latency per target',
        [
          `stats round(100 * avg(${F.healthy}), 2) as availability_pct, ` +
            `round(pct(${F.latencyMs}, 95)) as p95_ms, max(${F.latencyMs}) as max_ms, count(*) as probes by ${F.target}`,
          'sort availability_pct asc',
        ],
        12,
      ),
      logWidget(
        'Latest failed probes',
        [
          `filter ${F.healthy} = 0`,
          `fields @timestamp, ${F.target}, ${F.status}, ${F.reason}`,
          'sort @timestamp desc',
          'limit 50',
        ],
        12,
      ),
    );
    if (props.backupMaxAgeHours !== undefined) {
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Newest good backup age (h)',
          left: [metric(M.backupAgeHours, {}, 'Maximum', Duration.hours(1)).with({ label: 'age' })],
          leftAnnotations: [{ value: props.backupMaxAgeHours, label: 'maxAge' }],
          leftYAxis: { min: 0 },
          width: archiveLag ? 12 : 24,
        }),
        ...(archiveLag && props.archiveRpoSeconds !== undefined
          ? [
              new GraphWidget({
                title: 'WAL archive lag, the current RPO (s)',
                left: [archiveLag.with({ period: Duration.hours(1), label: 'archive lag' })],
                leftAnnotations: [{ value: props.archiveRpoSeconds, label: 'recovery.rpo' }],
                leftYAxis: { min: 0 },
                width: 12,
              }),
            ]
          : []),
      );
    }
  }
}
