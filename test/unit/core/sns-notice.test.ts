import { describe, expect, it } from 'vitest';
import type { Notice } from '../../../lambdas/core/incident.ts';
import { openIncident } from '../../../lambdas/core/incident-planner.ts';
import { formatSnsNotice } from '../../../lambdas/core/sns-notice.ts';
import { acgsPolicy, MINUTE, serviceDownReport, T0 } from '../../support/incident-fixtures.ts';

const OPTIONS = { fleet: 'acgs-1', acknowledgeHint: 'acgs-ops incident ack {id}' };

function notice(kind: Notice['kind'], extra: Partial<Notice> = {}): Notice {
  return { key: `n-${kind}`, kind, at: T0 + 30 * MINUTE, done: [], attempts: 0, nextAt: T0, ...extra };
}

describe('formatSnsNotice', () => {
  const incident = openIncident(serviceDownReport('gs'), acgsPolicy, T0).incident;

  it('tells people what opened, where, and how to acknowledge while the incident is open', () => {
    // Act
    const message = formatSnsNotice(
      { key: `${incident.id}/n-opened`, notice: notice('opened'), incident, recent: [] },
      OPTIONS,
    );
    // Assess
    expect(message.subject).toBe(`[P2] acgs-1: Opened: ${incident.title} (${incident.id})`);
    expect(message.text.split('\n')).toEqual([
      `Opened: P2 ${incident.title}`,
      `Incident: ${incident.id} (open), opened ${new Date(incident.openedAt).toISOString()}`,
      `Where: ${incident.services.join(', ')}${incident.host ? ` on ${incident.host}` : ''}`,
      `Acknowledge: acgs-ops incident ack ${incident.id}`,
      `At: ${new Date(T0 + 30 * MINUTE).toISOString()}`,
    ]);
    expect(message.body).toMatchObject({
      key: `${incident.id}/n-opened`,
      event: 'opened',
      acknowledge: `acgs-ops incident ack ${incident.id}`,
    });
  });

  it('says who resolved it, how, and the time to resolve; no acknowledge hint once resolved', () => {
    // Prepare
    const resolved = {
      ...incident,
      status: 'resolved' as const,
      resolvedAt: incident.failingSince + 42 * MINUTE,
      resolvedBy: 'alice',
      resolution: 'restarted gs',
    };
    // Act
    const message = formatSnsNotice(
      {
        key: `${incident.id}/n-resolved`,
        notice: notice('resolved', { by: 'alice', text: 'restarted gs' }),
        incident: resolved,
        recent: [],
      },
      OPTIONS,
    );
    // Assess
    expect(message.text).toContain(`Resolved by alice: P2 ${incident.title}`);
    expect(message.text).toContain('Detail: restarted gs');
    expect(message.text).toContain('Time to resolve: 42m');
    expect(message.text).not.toContain('Acknowledge');
    expect(message.body).toMatchObject({ event: 'resolved', by: 'alice', mttr: '42m', status: 'resolved' });
    expect(message.body).not.toHaveProperty('acknowledge');
  });

  it("quotes a person's update", () => {
    const message = formatSnsNotice(
      { key: 'k', notice: notice('update', { by: 'bob', text: 'failover in progress' }), incident, recent: [] },
      OPTIONS,
    );
    expect(message.text).toContain('Update by bob: P2');
    expect(message.text).toContain('Update: failover in progress');
  });
});
