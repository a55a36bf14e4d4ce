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
  /** 1 when the target answered healthy (up or degraded), 0 otherwise; one datum per target per cycle. Dimensions: service, target. */
  targetAvailability: 'TargetAvailability',
  /** Milliseconds the probe of a target took. Dimensions: service, target. */
  probeLatency: 'ProbeLatency',
  /** Gauge: incidents not resolved, per severity, emitted every cycle. Dimensions: service, severity. */
  openIncidents: 'OpenIncidents',
  /** Hours since the newest good backup started (the RPO right now), emitted by every backup monitor run. Dimensions: service. */
  backupAgeHours: 'BackupAgeHours',
  dimensions: {
    service: 'service',
    /** The target's name: the service name for service health checks, the check name for dependencies. */
    target: 'target',
    severity: 'severity',
  },
} as const;

/** POWERTOOLS_SERVICE_NAME of every control-plane Lambda of a fleet: one per fleet, so fleets sharing an account never mix. */
export function controlPlaneServiceName(fleetName: string): string {
  return `${fleetName}-control-plane`;
}
