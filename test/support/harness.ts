import { readFileSync } from 'node:fs';
import { MemoryEventPublisher } from '../../lambdas/adapters/memory/memory-event-publisher.ts';
import { MemoryStateStore } from '../../lambdas/adapters/memory/memory-state-store.ts';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import type { NoticeKind, NoticeMessage } from '../../lambdas/core/notices.ts';
import type { ProbeReason, ProbeResult, ProbeStatus } from '../../lambdas/core/probe-evaluation.ts';
import type {
  Clock,
  CommandRequest,
  CommandResult,
  CommandRunner,
  Notification,
  Notifier,
} from '../../lambdas/ports.ts';
import { type ControlPlaneContext, createContext } from '../../lambdas/use-cases/context.ts';

export const T0 = Date.UTC(2026, 11, 1, 2, 0, 0);
export const SECOND = 1_000;
export const MINUTE = 60_000;

export function loadShippedConfig(): FleetConfig {
  const parsed = parseFleetConfig(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error(`shipped config is invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.config;
}

/** A clock that only moves when the test says so. */
export class ManualClock implements Clock {
  constructor(private current = T0) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(at: number): void {
    this.current = at;
  }
}

export class RecordingNotifier implements Notifier {
  deliveryTimeoutMs = 5_000;
  readonly sent: Notification[] = [];
  failNext = 0;
  /** Runs during delivery, before the page counts as sent: lets a test act while pages are in flight. */
  during?: ((notification: Notification) => Promise<void>) | undefined;
  async notify(notification: Notification): Promise<void> {
    await this.during?.(notification);
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('webhook answered 503');
    }
    this.sent.push(notification);
  }
  /** "<incident title> -> L<level> <why>" lines, oldest first. */
  lines(): string[] {
    return this.sent.map((n) => `L${n.page.level} ${n.page.why} ${n.page.severity} ${n.incident.dedupKey}`);
  }
  /** Channel name -> the notice kinds it carries; a test sets it to route notices. */
  noticeRoutes: Record<string, readonly NoticeKind[]> = {};
  /** Notices sent, with their channel, oldest first. */
  readonly notices: { channel: string; message: NoticeMessage }[] = [];
  /** Channel name -> sends still to fail. */
  readonly failNotices: Record<string, number> = {};
  noticeChannels(kind: NoticeKind): readonly string[] {
    return Object.entries(this.noticeRoutes).flatMap(([channel, kinds]) => (kinds.includes(kind) ? [channel] : []));
  }
  async sendNotice(channel: string, message: NoticeMessage): Promise<void> {
    const failing = this.failNotices[channel] ?? 0;
    if (failing > 0) {
      this.failNotices[channel] = failing - 1;
      throw new Error(`${channel} answered 503`);
    }
    this.notices.push({ channel, message });
  }
}

/** Records restart requests and answers each with a scripted result (success by default). */
export class ScriptedCommandRunner implements CommandRunner {
  readonly requests: CommandRequest[] = [];
  next: CommandResult = { status: 'succeeded', exitCode: 0, output: 'service started' };
  async run(request: CommandRequest): Promise<CommandResult> {
    this.requests.push(request);
    return this.next;
  }
  services(): string[] {
    return this.requests.map((r) => r.parameters.ServiceName ?? '?');
  }
}

export interface Harness {
  readonly ctx: ControlPlaneContext;
  readonly store: MemoryStateStore;
  readonly clock: ManualClock;
  readonly notifier: RecordingNotifier;
  readonly commands: ScriptedCommandRunner;
  readonly events: MemoryEventPublisher;
  readonly logs: { event: string; fields: Record<string, unknown> }[];
}

export function createHarness(config: FleetConfig = loadShippedConfig()): Harness {
  const store = new MemoryStateStore();
  const clock = new ManualClock();
  const notifier = new RecordingNotifier();
  const commands = new ScriptedCommandRunner();
  const events = new MemoryEventPublisher();
  const logs: Harness['logs'] = [];
  const ctx = createContext(config, {
    states: store,
    incidents: store,
    control: store,
    notifier,
    commands,
    events,
    clock,
    log: (event, fields) => logs.push({ event, fields }),
  });
  return { ctx, store, clock, notifier, commands, events, logs };
}

const REASON: Record<ProbeStatus, ProbeReason> = { healthy: 'ok', degraded: 'body-status', unhealthy: 'refused' };

/**
 * Probe results for every target of the context: healthy unless named in `overrides` (by target name).
 */
export function results(
  ctx: ControlPlaneContext,
  overrides: Record<string, ProbeStatus | { status: ProbeStatus; reason: ProbeReason }> = {},
): ProbeResult[] {
  return ctx.targets.map((t) => {
    const o = overrides[t.name];
    const status = o === undefined ? 'healthy' : typeof o === 'string' ? o : o.status;
    const reason = o === undefined ? 'ok' : typeof o === 'string' ? REASON[o] : o.reason;
    return {
      targetId: t.id,
      name: t.name,
      kind: t.kind,
      status,
      reason,
      detail: status === 'healthy' ? 'HTTP 200' : `${t.name} ${reason}`,
      latencyMs: 5,
      checkedAt: ctx.clock.now(),
    };
  });
}
