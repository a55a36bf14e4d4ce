/**
 * The control plane's CloudWatch metrics: the names the handlers emit (Powertools EMF) and the names the stack's
 * alarms and dashboard read. One object, imported by both sides, so a renamed metric cannot silently blind an alarm.
 *
 * Powertools adds the dimension `service` (= POWERTOOLS_SERVICE_NAME, see `controlPlaneServiceName`) to every
 * metric it emits; the per-metric dimensions below come on top of it. A contract shared by `lib/` and the handlers,
 * so it lives in the core (as `events.ts` does for the events) and imports nothing.
 */
export const CONTROL_PLANE_METRICS = {
  namespace: 'ACGS/OpsControlPlane',
  /** Count, 1 per finished probe cycle: the heartbeat. Dimensions: service. */
  probeCycles: 'ProbeCycles',
  /** Gauge: targets that answered unhealthy (down) in the cycle, emitted every cycle. Dimensions: service. */
  unhealthyTargets: 'UnhealthyTargets',
  /** Gauge: incidents not resolved, per severity, emitted every cycle. Dimensions: service, severity. */
  openIncidents: 'OpenIncidents',
  /** Hours since the newest good backup started (the RPO right now), emitted by every backup monitor run. Dimensions: service. */
  backupAgeHours: 'BackupAgeHours',
  /**
   * Seconds: the WAL archive's lag, the current RPO (age of the newest restorable point), emitted by every backup
   * monitor run with backups.archiving that could measure it. Dimensions: service.
   */
  archiveLagSeconds: 'ArchiveLagSeconds',
  /**
   * Count, 1 per failed delivery of a lifecycle notice (retried later or given up on), emitted by the Lambdas that
   * deliver notices. Dimensions: service only (one series, to keep the bill flat); the channel is in the log line
   * `notice-failed`.
   */
  noticeFailures: 'NoticeFailures',
  dimensions: {
    service: 'service',
    severity: 'severity',
  },
} as const;

/**
 * Per-target detail (availability, latency, reason) is not a metric: a custom metric costs $0.30 a month per
 * series, so one per target and measure was most of the bill. Each probe result is one structured log line instead
 * (`message` = this name, fields below), read by the dashboard's Logs Insights widgets.
 */
export const PROBE_RESULT_LOG = {
  message: 'target-probed',
  fields: { target: 'target', status: 'status', healthy: 'healthy', latencyMs: 'latencyMs', reason: 'reason' },
} as const;

/** One metric series as CloudWatch counts (and bills) it: a name and its per-metric dimensions besides `service`. */
export interface MetricSeries {
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/**
 * Every custom metric series the control plane of a fleet emits: the heartbeat, the unhealthy-target gauge, open
 * incidents per severity, failed notice deliveries and, with backups, the backup age (and with archiving, the archive lag). The cost estimate counts these; a handler test checks
 * that the handlers emit nothing else.
 */
export function emittedMetricSeries(options: {
  readonly severities: readonly string[];
  readonly backups: boolean;
  /** backups.archiving is configured: the archive lag. @default false */
  readonly archiving?: boolean;
}): MetricSeries[] {
  const M = CONTROL_PLANE_METRICS;
  return [
    { name: M.probeCycles, dimensions: {} },
    { name: M.unhealthyTargets, dimensions: {} },
    ...options.severities.map((severity) => ({
      name: M.openIncidents,
      dimensions: { [M.dimensions.severity]: severity },
    })),
    { name: M.noticeFailures, dimensions: {} },
    ...(options.backups ? [{ name: M.backupAgeHours, dimensions: {} }] : []),
    ...(options.backups && options.archiving ? [{ name: M.archiveLagSeconds, dimensions: {} }] : []),
  ];
}

/** POWERTOOLS_SERVICE_NAME of every control-plane Lambda of a fleet: one per fleet, so fleets sharing an account never mix. */
export function controlPlaneServiceName(fleetName: string): string {
  return `${fleetName}-control-plane`;
}
