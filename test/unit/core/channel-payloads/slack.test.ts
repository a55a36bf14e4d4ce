import { describe, expect, it } from 'vitest';
import type { ChannelInput } from '../../../../lambdas/core/channel-payloads/common.ts';
import { MAX_BLOCKS_CHARS, SLACK_LIMITS, slackMessage } from '../../../../lambdas/core/channel-payloads/slack.ts';
import type { TimelineEntry } from '../../../../lambdas/core/incident.ts';
import { slackMessageSchema } from '../../../support/channel-formats.ts';
import {
  escalationTestSteps,
  incidentLifecycle,
  maintenanceSteps,
  noticeInput,
  stepInput,
} from '../../../support/channel-lifecycle.ts';
import { MINUTE, T0 } from '../../../support/harness.ts';

/** Every text of a message, flattened: what a reader can see. */
function texts(message: ReturnType<typeof slackMessage>): string[] {
  return message.blocks.flatMap((b) => {
    if (b.type === 'header') return [b.text.text];
    if (b.type === 'section') return [...(b.text ? [b.text.text] : []), ...(b.fields ?? []).map((f) => f.text)];
    if (b.type === 'context') return b.elements.map((e) => e.text);
    return [];
  });
}

describe('slackMessage', () => {
  it('builds Block Kit messages in the published format for a whole lifecycle, a maintenance window and an escalation test', () => {
    // Prepare
    const steps = [...incidentLifecycle().steps, ...maintenanceSteps(), ...escalationTestSteps()];
    // Act
    const messages = steps.map((s) => slackMessage(stepInput(s)));
    // Assess
    for (const [i, message] of messages.entries()) {
      const parsed = slackMessageSchema.safeParse(message);
      expect(parsed.success, `${steps[i]?.name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }
    expect(messages.map((m) => m.blocks[0]?.type === 'header' && m.blocks[0].text.text)).toEqual([
      '[P2] auth is down',
      '[P2] auth is down',
      '[P2] SLA breached: auth is down',
      '[P2] Acknowledged: auth is down',
      '[P2] Update: auth is down',
      '[P2] Resolved: auth is down',
      'Maintenance started: maintenance of auth, policy',
      'Maintenance ended: maintenance of auth, policy',
      '[P3] Escalation test: synthetic incident (acknowledge to pass)',
      '[P3] Escalation test: synthetic incident (acknowledge to pass)',
      '[P3] Escalation test: synthetic incident (acknowledge to pass)',
    ]);
  });

  it('shows severity, title, where, since, what was done and how to acknowledge on a page', () => {
    // Prepare
    const [first] = incidentLifecycle().steps;
    if (!first) throw new Error('no first page');
    // Act
    const message = slackMessage(stepInput(first));
    // Assess
    const shown = texts(message).join('\n');
    expect(shown).toContain('*Severity*\nP2');
    expect(shown).toContain('*Title*\nauth is down');
    expect(shown).toContain('*Where*\nauth on 127.0.0.1');
    expect(shown).toContain('*Since*\n2026-12-01T02:00:00.000Z (5m ago)');
    expect(shown).toContain('*What was done*\n• restart of auth failed (exit 1): port 8000 still held');
    expect(shown).toMatch(/\*How to acknowledge\*\n`acgs-ops incident ack INC-[A-Z0-9]+-[A-Z0-9]+`/);
    expect(message.text).toBe('[P2] auth is down: New incident (level 1, Operations). Seen: auth: connection refused');
  });

  it("says who acknowledged, the update and the resolution with its MTTR in formatNotice's words, and stops asking to acknowledge", () => {
    // Prepare
    const steps = incidentLifecycle().steps;
    const shown = (name: string) => {
      const step = steps.find((s) => s.name === name);
      if (!step) throw new Error(name);
      const input = stepInput(step);
      if (!input.notice) throw new Error(`${name} is no notice`);
      return { summary: input.formatted.body.summary, text: texts(slackMessage(input)).join('\n') };
    };
    // Act
    const [acknowledged, update, resolved] = [shown('acknowledged'), shown('update'), shown('resolved')];
    // Assess
    for (const { summary, text } of [acknowledged, update, resolved]) {
      expect(text).toContain(summary);
      expect(text).toContain('*By*\nalice');
      expect(text).not.toContain('How to acknowledge');
    }
    expect(update.summary).toContain('auth runs out of memory under the login burst');
    expect(resolved.summary).toContain('50m');
    expect(resolved.summary).toContain('auth restarted with 2 GB; logins back to normal');
  });

  it('stays within every Block Kit limit, and escapes Slack control characters, for a huge incident', () => {
    // Prepare: every text that can be long is long (title, services, detail, who acted)
    const { steps } = incidentLifecycle({
      title: `auth <!channel> & ${'🔥'.repeat(400)} ${'t'.repeat(2_000)}`,
      detail: `<http://evil.example|click> ${'&'.repeat(5_000)}`,
      services: Array.from({ length: 100 }, (_, i) => `service-with-a-long-name-${i}`),
    });
    const history: TimelineEntry[] = Array.from({ length: 20 }, (_, i) => ({
      at: T0 + i * MINUTE,
      type: 'remediation',
      action: 'restart',
      service: 'auth',
      outcome: 'failed',
      detail: `restart ${i} failed: ${'x'.repeat(500)}`,
    }));
    const inputs = steps.map((step): ChannelInput => {
      const input = stepInput(step);
      if (input.page) {
        const message = input.page.message;
        const actions = history.map((h) => (h.type === 'remediation' ? h.detail : ''));
        return { page: { ...input.page, message: { ...message, body: { ...message.body, actions } } } };
      }
      const notice = { ...input.notice.notice, by: 'b'.repeat(3_000) };
      return noticeInput({ ...input.notice, notice, recent: [...history, ...input.notice.recent] });
    });
    // Act
    const messages = inputs.map((input) => slackMessage(input));
    // Assess
    for (const message of messages) {
      expect(slackMessageSchema.safeParse(message).success).toBe(true);
      const header = message.blocks[0];
      expect(header?.type === 'header' && header.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
      expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.text);
      expect(texts(message).join('').length).toBeLessThanOrEqual(MAX_BLOCKS_CHARS);
      for (const text of [message.text, ...texts(message).slice(1)]) {
        expect(text).not.toMatch(/<|>/);
        expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
      }
    }
  });
});
