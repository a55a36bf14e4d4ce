import { errorMessage, NotFoundError } from '../core/errors.ts';
import { freezePolicy, type Page, resolve } from '../core/escalation.ts';
import {
  DEFAULT_ESCALATION_TEST_WAIT_MS,
  type TestRouting,
  type TestVerdict,
  testRouting,
  testVerdict,
} from '../core/escalation-test.ts';
import type { Incident, TimelineEntry } from '../core/incident.ts';
import { openIncident } from '../core/incident-planner.ts';
import { DELIVERY_ATTEMPTS } from './advance-escalation.ts';
import type { ControlPlaneContext } from './context.ts';
import { createIncidentWithNotices, updateIncidentWithRetry } from './update-incident.ts';

/**
 * `acgs-ops escalation test` (issue 11): proves the paging path end to end. A synthetic P3 incident of kind `test`
 * is opened and paged once, at one level, through every page channel carrying it (or through one channel), whatever
 * maintenance windows say; it passes when someone acknowledges it (`acgs-ops incident ack ID`) before its deadline.
 * The deadline is the incident's `escalation.nextAt`, so the sweep closes a test nobody waits for (the scheduled one)
 * as failed there, and one acknowledged as passed; a waiting CLI closes it itself (`closeEscalationTest`).
 */

export interface EscalationTestRequest {
  /** Only this page channel (`--channel`). */
  readonly channel?: string | undefined;
  /** The escalation level paged (`--level`). @default 1, or the lowest level the channel carries */
  readonly level?: number | undefined;
  /** How long it waits for the acknowledgement. @default 10 minutes */
  readonly waitMs?: number | undefined;
  /** Who started it (an operator, or `schedule`). */
  readonly by: string;
}

export interface StartedEscalationTest {
  readonly incident: Incident;
  readonly routing: TestRouting;
  /** When it fails unless acknowledged. */
  readonly deadline: number;
  /** Undefined when the page went out; else why not (the test is then resolved as failed at once). */
  readonly pageError?: string;
}

/**
 * Opens the test incident and pages it. A page that no channel took fails the test at once (resolved as failed,
 * naming the error): nobody can acknowledge what nobody got.
 * @throws UsageError for an unknown channel (naming the page channels) or level
 */
export async function startEscalationTest(
  ctx: ControlPlaneContext,
  request: EscalationTestRequest,
): Promise<StartedEscalationTest> {
  const routing = testRouting(ctx.config, request);
  const now = ctx.clock.now();
  const waitMs = request.waitMs ?? DEFAULT_ESCALATION_TEST_WAIT_MS;
  const deadline = now + waitMs;
  const through = routing.channel === undefined ? routing.channels.join(', ') : routing.channel;
  // Unique per run: a test never folds into a real incident, nor into another test.
  const dedupKey = `escalation-test@${ctx.config.fleet.name}:${now.toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const policy = freezePolicy(ctx.config, 'test');
  const opened = openIncident(
    {
      dedupKey,
      kind: 'test',
      severity: 'P3',
      title: `Escalation test: level ${routing.level} (${routing.levelName}) through ${through}`,
      targets: [],
      services: [],
      flapping: false,
      detail: `escalation test started by ${request.by}: acknowledge it within the wait to pass (nothing is wrong)`,
      failingSince: now,
    },
    policy,
    now,
  );
  // Paged here, once, never by the sweep: its only timer is the deadline.
  const incident: Incident = { ...opened.incident, escalation: { policy, level: 0, nextAt: deadline, pages: 0 } };
  const created = await createIncidentWithNotices(ctx, incident, opened.timeline);
  const stored = created.created ? created.incident : created.existing;
  ctx.log('escalation-test-started', { incidentId: stored.id, level: routing.level, channels: routing.channels });

  const level = policy.levels.find((l) => l.level === routing.level);
  const page: Page = {
    incidentId: stored.id,
    severity: stored.severity,
    level: routing.level,
    levelName: routing.levelName,
    contacts: level?.contacts ?? [],
    why: 'test',
    at: now,
  };
  const pageError = await deliver(ctx, page, stored, opened.timeline, routing.channel);
  if (pageError !== undefined) {
    ctx.log('escalation-test-page-failed', { incidentId: stored.id, error: pageError });
    const failed = await updateIncidentWithRetry(ctx, stored.id, (current) =>
      current.status === 'resolved'
        ? undefined
        : resolve(current, 'control-plane', `escalation test failed: page not delivered: ${pageError}`, now),
    );
    return { incident: failed ?? stored, routing, deadline, pageError };
  }
  const paged: TimelineEntry = {
    at: now,
    type: 'paged',
    level: page.level,
    levelName: page.levelName,
    contacts: page.contacts.map((c) => c.name),
    why: 'test',
  };
  const recorded = await updateIncidentWithRetry(ctx, stored.id, (current) => ({
    incident: {
      ...current,
      escalation: {
        ...current.escalation,
        level: Math.max(current.escalation.level, page.level),
        pages: current.escalation.pages + 1,
      },
    },
    timeline: [paged],
  }));
  return { incident: recorded ?? stored, routing, deadline };
}

/** Tries the page a few times (as a step of the escalation does); the last error, or undefined once it went out. */
async function deliver(
  ctx: ControlPlaneContext,
  page: Page,
  incident: Incident,
  recent: readonly TimelineEntry[],
  onlyChannel: string | undefined,
): Promise<string | undefined> {
  let lastError: string | undefined;
  for (let attempt = 1; attempt <= DELIVERY_ATTEMPTS; attempt++) {
    try {
      await ctx.notifier.notify({ page, incident, recent, ...(onlyChannel === undefined ? {} : { onlyChannel }) });
      return undefined;
    } catch (error) {
      lastError = errorMessage(error);
    }
  }
  return lastError;
}

export interface ClosedEscalationTest {
  readonly incident: Incident;
  /** The verdict, once there is one: acknowledged (passed), or past the deadline unacknowledged (failed). */
  readonly verdict?: TestVerdict;
}

/**
 * Closes a test incident once it has a verdict (what the sweep does at the deadline, for a CLI that waits): passed
 * when acknowledged, failed past its deadline. A test already resolved (by the sweep, or its page failing) is
 * answered as it stands; one still waiting is left open, without a verdict.
 */
export async function closeEscalationTest(ctx: ControlPlaneContext, id: string): Promise<ClosedEscalationTest> {
  let verdict: TestVerdict | undefined;
  const closed = await updateIncidentWithRetry(ctx, id, (current) => {
    const now = ctx.clock.now();
    verdict = testVerdict(current, now);
    return verdict && resolve(current, 'control-plane', verdict.resolution, now);
  });
  if (closed) return { incident: closed, ...(verdict ? { verdict } : {}) };
  const incident = await ctx.incidents.getIncident(id);
  if (!incident) throw new NotFoundError(`incident ${id}`);
  return { incident };
}

/**
 * The scheduled escalation test (`schedules.escalationTest`): opens and pages a test that nobody waits for here; the
 * sweep resolves it at its deadline (`wait`), as passed if someone acknowledged it meanwhile, else as failed.
 * Undefined when no such schedule is configured.
 */
export async function runScheduledEscalationTest(ctx: ControlPlaneContext): Promise<StartedEscalationTest | undefined> {
  const scheduled = ctx.config.schedules.escalationTest;
  if (!scheduled) return undefined;
  const started = await startEscalationTest(ctx, {
    channel: scheduled.channel,
    level: scheduled.level,
    waitMs: scheduled.wait,
    by: 'schedule',
  });
  ctx.log('escalation-test-scheduled', {
    incidentId: started.incident.id,
    channels: started.routing.channels,
    deadline: new Date(started.deadline).toISOString(),
    ...(started.pageError === undefined ? {} : { error: started.pageError }),
  });
  return started;
}
