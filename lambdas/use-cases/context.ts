import type { FleetConfig } from '../core/config-schema.ts';
import { errorMessage } from '../core/errors.ts';
import type { MaintenanceWindow } from '../core/escalation.ts';
import type { HealthPolicy } from '../core/health-state.ts';
import type { Target } from '../core/targets.ts';
import { targetsFromConfig } from '../core/targets.ts';
import type {
  Clock,
  CommandRunner,
  ControlStore,
  EventPublisher,
  IncidentStore,
  Notifier,
  ObjectStore,
  Prober,
  TargetStateStore,
} from '../ports.ts';

/** Where backups are published and read: the backup use-cases' store, and what the documents are told. */
export interface BackupDestination {
  /** Where the published dumps, manifests and records are read (and pruned). */
  readonly objects: ObjectStore;
  /** Publish to `s3://<bucket>/<backups.s3Prefix>`; absent: to `backups.localDirectory` on the host. */
  readonly bucket?: string;
  readonly kmsKeyId?: string;
  /** PostgreSQL client tools on the host; absent: found on PATH. */
  readonly pgBinDir?: string;
  /**
   * Sends the backup document without waiting for it, for POST /backups (AWS: SSM Run Command dispatched, as the daily
   * schedule sends it; its end arrives by the status-change event and `finishBackupCommand`), so the route answers
   * 202 with the command id instead of outwaiting the operator Lambda. Absent: the context's runner.
   */
  readonly dispatch?: CommandRunner;
  /**
   * The longest the operator API may wait for a drill or for a restore's database steps (AWS: what the operator
   * Lambda's timeout leaves). Absent: no bound but the documents' own TimeoutSeconds.
   */
  readonly waitBudgetMs?: number;
}

/** Everything a use-case needs: the config and the adapters wired by a Lambda handler or the local daemon. */
export interface ControlPlaneContext {
  readonly config: FleetConfig;
  readonly targets: readonly Target[];
  readonly health: HealthPolicy;
  readonly states: TargetStateStore;
  readonly incidents: IncidentStore;
  readonly control: ControlStore;
  readonly notifier: Notifier;
  readonly commands: CommandRunner;
  readonly events: EventPublisher;
  readonly clock: Clock;
  /**
   * Probes a target now, where the runtime can reach the fleet (one host): a procedure that waits for health checks
   * (a restore) asks it directly. Absent (the AWS operator Lambda is outside the VPC): it reads the probe's states.
   */
  readonly prober?: Prober;
  /**
   * Where the backups are published and read, for the operator API's backup routes: `backups.localDirectory` on one
   * host, the stack's bucket in AWS. Absent: the runtime has no backups wired (the routes answer 409).
   */
  readonly backups?: BackupDestination;
  /** What the use-cases say about what they did (a Powertools logger in Lambda, stderr locally). */
  readonly log: (event: string, fields: Record<string, unknown>) => void;
}

/** Probe interval assumed when the probe schedule is a cron expression (one minute, the finest cron step). */
const CRON_INTERVAL_MS = 60_000;

export function healthPolicy(config: FleetConfig): HealthPolicy {
  const { failuresToDown, successesToUp, flapping } = config.thresholds;
  const probe = config.schedules.probe;
  return {
    failuresToDown,
    successesToUp,
    flapping,
    probeIntervalMs: 'every' in probe ? probe.every : CRON_INTERVAL_MS,
  };
}

export type ContextAdapters = Omit<ControlPlaneContext, 'config' | 'targets' | 'health'>;

export function createContext(config: FleetConfig, adapters: ContextAdapters): ControlPlaneContext {
  return { config, targets: targetsFromConfig(config), health: healthPolicy(config), ...adapters };
}

/**
 * Publishes, and reports a failure to publish without failing the step: events inform other consumers; the state
 * written by the step is the truth.
 */
export async function publishEvents(
  ctx: ControlPlaneContext,
  events: Parameters<EventPublisher['publish']>[0],
): Promise<void> {
  if (events.length === 0) return;
  try {
    await ctx.events.publish(events);
  } catch (error) {
    ctx.log('events-failed', { count: events.length, error: errorMessage(error) });
  }
}

/** How far ahead an isolation mutes: in effect until the service is released. */
const ISOLATION_HORIZON_MS = 365 * 86_400_000;

/**
 * The windows that mute paging now: the operators' maintenance windows, plus one per isolated service (isolating
 * is deliberate, so paging about the outage it causes is noise). Releasing a service unmutes its incidents.
 */
export async function mutingWindows(ctx: ControlPlaneContext, now: number): Promise<MaintenanceWindow[]> {
  const [windows, isolated] = await Promise.all([ctx.control.listMaintenanceWindows(now), ctx.control.listIsolated()]);
  return [
    ...windows,
    ...[...isolated].map((service) => ({
      id: isolationWindowId(service),
      subjects: [service],
      startsAt: now,
      // Until released: releasing unmutes what it muted (unmuteIncidents), so no periodic re-check is needed.
      endsAt: now + ISOLATION_HORIZON_MS,
      reason: `${service} is isolated`,
      createdBy: 'control-plane',
    })),
  ];
}

/** The id of the muting window an isolation stands for. */
export function isolationWindowId(service: string): string {
  return `isolated:${service}`;
}
