import type { ChannelInput } from '../../lambdas/core/channel-payloads/common.ts';
import type { MaintenanceWindow, Page } from '../../lambdas/core/escalation.ts';
import { sweepEscalation } from '../../lambdas/core/escalation.ts';
import type { Incident, Notice, TimelineEntry } from '../../lambdas/core/incident.ts';
import { formatNotice } from '../../lambdas/core/notice-message.ts';
import type { NoticeKind, NoticeMessage } from '../../lambdas/core/notices.ts';
import { formatPage, type PageMessage } from '../../lambdas/core/page-message.ts';
import type { Notification } from '../../lambdas/ports.ts';
import { MINUTE, T0 } from './harness.ts';
import { openedIncident, serviceDownReport } from './incident-fixtures.ts';

/**
 * One incident's whole life as the channels see it: the first page, an escalation page, the SLA breach, the
 * acknowledgement, an update, the resolution; then a maintenance window's two notices and an escalation test's
 * three. Times are fixed (T0 = the failure's start), so every payload is the same on every run.
 */
export interface LifecycleStep {
  readonly name: string;
  readonly page?: { readonly message: PageMessage; readonly notification: Notification };
  readonly notice?: NoticeMessage;
}

export const MESSAGE_OPTIONS = { fleet: 'acgs-1', acknowledgeHint: 'acgs-ops incident ack {id}' } as const;

export function stepInput(step: LifecycleStep): ChannelInput {
  if (step.page)
    return {
      page: {
        message: step.page.message,
        page: step.page.notification.page,
        incident: step.page.notification.incident,
      },
    };
  if (step.notice) return noticeInput(step.notice);
  throw new Error(`step ${step.name} has neither a page nor a notice`);
}

/** A notice as the notifier hands it to a channel: with formatNotice's words. */
export function noticeInput(message: NoticeMessage): ChannelInput {
  return { notice: message, formatted: formatNotice(message, MESSAGE_OPTIONS) };
}

export function notice(kind: NoticeKind, at: number, extra: Partial<Notice> = {}): Notice {
  return { key: `${kind}-${at}`, kind, at, done: [], attempts: 0, nextAt: at, ...extra };
}

function noticeMessage(incident: Incident, n: Notice, recent: readonly TimelineEntry[]): NoticeMessage {
  return { key: `${incident.id}/${n.key}`, notice: n, incident, recent };
}

function pageStep(name: string, page: Page, incident: Incident, recent: readonly TimelineEntry[]): LifecycleStep {
  return {
    name,
    page: { message: formatPage(page, incident, recent, MESSAGE_OPTIONS), notification: { page, incident, recent } },
  };
}

/** The incident's life for `service` (default auth, P2), optionally with a title and detail of the test's own. */
export function incidentLifecycle(
  overrides: { title?: string; detail?: string; dedupKey?: string; services?: string[] } = {},
): {
  readonly incident: Incident;
  readonly steps: readonly LifecycleStep[];
} {
  const opened = openedIncident(serviceDownReport('auth', overrides));
  const outcome = sweepEscalation(opened, T0 + 5 * MINUTE, []);
  const first = outcome?.pages[0];
  if (!outcome || !first) throw new Error('expected a first page');
  const open = outcome.incident;
  const timeline: TimelineEntry[] = [
    { at: T0, type: 'opened', severity: 'P2', detail: open.detail },
    {
      at: T0 + 2 * MINUTE,
      type: 'remediation',
      action: 'restart',
      service: 'auth',
      outcome: 'failed',
      detail: 'restart of auth failed (exit 1): port 8000 still held',
    },
    ...outcome.timeline,
  ];
  const steps: LifecycleStep[] = [pageStep('first page', first, open, [...timeline])];
  const escalation: Page = {
    ...first,
    level: 2,
    levelName: 'Secondary on-call',
    why: 'escalated',
    at: T0 + 20 * MINUTE,
  };
  timeline.push({
    at: escalation.at,
    type: 'paged',
    level: 2,
    levelName: escalation.levelName,
    contacts: ['Secondary on-call (Infrastructure Team)'],
    why: 'escalated',
  });
  steps.push(pageStep('escalation page', escalation, open, [...timeline]));
  const breachAt = T0 + 21 * MINUTE;
  steps.push({
    name: 'SLA breach',
    notice: noticeMessage(
      open,
      notice('sla-breached', breachAt, { text: 'no acknowledgement within the P2 response time (15m)' }),
      [...timeline],
    ),
  });
  const ackAt = T0 + 25 * MINUTE;
  const acknowledged: Incident = {
    ...open,
    status: 'acknowledged',
    acknowledgedAt: ackAt,
    acknowledgedBy: 'alice',
    version: open.version + 1,
  };
  timeline.push({ at: ackAt, type: 'acknowledged', by: 'alice' });
  steps.push({
    name: 'acknowledged',
    notice: noticeMessage(acknowledged, notice('acknowledged', ackAt, { by: 'alice' }), [...timeline]),
  });
  const noteAt = T0 + 30 * MINUTE;
  const noteText = 'auth runs out of memory under the login burst; restarting it with 2 GB';
  timeline.push({ at: noteAt, type: 'note', by: 'alice', text: noteText });
  steps.push({
    name: 'update',
    notice: noticeMessage(acknowledged, notice('update', noteAt, { by: 'alice', text: noteText }), [...timeline]),
  });
  const resolvedAt = T0 + 50 * MINUTE;
  const resolution = 'auth restarted with 2 GB; logins back to normal';
  const resolved: Incident = {
    ...acknowledged,
    status: 'resolved',
    resolvedAt,
    resolvedBy: 'alice',
    resolution,
    version: acknowledged.version + 1,
  };
  timeline.push({ at: resolvedAt, type: 'resolved', by: 'alice', resolution });
  steps.push({
    name: 'resolved',
    notice: noticeMessage(resolved, notice('resolved', resolvedAt, { by: 'alice', text: resolution }), [...timeline]),
  });
  return { incident: open, steps };
}

/** A maintenance window's two notices. */
export function maintenanceSteps(): LifecycleStep[] {
  const window: MaintenanceWindow = {
    id: 'MW-1',
    subjects: ['auth', 'policy'],
    startsAt: T0 + 60 * MINUTE,
    endsAt: T0 + 120 * MINUTE,
    reason: 'PostgreSQL minor upgrade',
    createdBy: 'bob',
  };
  return [
    {
      name: 'maintenance started',
      notice: {
        key: 'MW-1/started',
        notice: notice('maintenance-started', window.startsAt, { by: 'bob' }),
        window,
        recent: [],
      },
    },
    {
      name: 'maintenance ended',
      notice: { key: 'MW-1/ended', notice: notice('maintenance-ended', window.endsAt), window, recent: [] },
    },
  ];
}

/** The escalation test's notices: `test` stands for opened, acknowledged and resolved of a synthetic incident. */
export function escalationTestSteps(): LifecycleStep[] {
  const opened = openedIncident(
    serviceDownReport('auth', {
      dedupKey: 'escalation-test@acgs-1',
      kind: 'manual',
      severity: 'P3',
      title: 'synthetic incident (acknowledge to pass)',
    }),
    T0,
  );
  const ackAt = T0 + 3 * MINUTE;
  const resolvedAt = T0 + 4 * MINUTE;
  const timeline: TimelineEntry[] = [{ at: T0, type: 'opened', severity: 'P3', detail: opened.detail }];
  const steps: LifecycleStep[] = [
    { name: 'test opened', notice: noticeMessage(opened, notice('test', T0), [...timeline]) },
  ];
  timeline.push({ at: ackAt, type: 'acknowledged', by: 'carol' });
  const acknowledged: Incident = { ...opened, status: 'acknowledged', acknowledgedAt: ackAt, acknowledgedBy: 'carol' };
  steps.push({
    name: 'test acknowledged',
    notice: noticeMessage(acknowledged, notice('test', ackAt, { by: 'carol' }), [...timeline]),
  });
  timeline.push({ at: resolvedAt, type: 'resolved', by: 'control-plane', resolution: 'escalation test passed' });
  const resolved: Incident = { ...acknowledged, status: 'resolved', resolvedAt, resolvedBy: 'control-plane' };
  steps.push({
    name: 'test resolved',
    notice: noticeMessage(resolved, notice('test', resolvedAt, { by: 'control-plane' }), [...timeline]),
  });
  return steps;
}
