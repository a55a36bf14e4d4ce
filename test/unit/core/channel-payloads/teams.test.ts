import { describe, expect, it } from 'vitest';
import type { ChannelInput } from '../../../../lambdas/core/channel-payloads/common.ts';
import { teamsMessage } from '../../../../lambdas/core/channel-payloads/teams.ts';
import type { TimelineEntry } from '../../../../lambdas/core/incident.ts';
import { teamsMessageSchema } from '../../../support/channel-formats.ts';
import {
  escalationTestSteps,
  incidentLifecycle,
  maintenanceSteps,
  noticeInput,
  stepInput,
} from '../../../support/channel-lifecycle.ts';
import { MINUTE, T0 } from '../../../support/harness.ts';

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

describe('teamsMessage', () => {
  it('builds one Adaptive Card message in the published format for a whole lifecycle, a maintenance window and an escalation test', () => {
    // Prepare
    const steps = [...incidentLifecycle().steps, ...maintenanceSteps(), ...escalationTestSteps()];
    // Act
    const messages = steps.map((s) => teamsMessage(stepInput(s)));
    // Assess
    for (const [i, message] of messages.entries()) {
      const parsed = teamsMessageSchema.safeParse(message);
      expect(parsed.success, `${steps[i]?.name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
    }
  });

  it('shows the headline, the facts, what was done and how to acknowledge on a page', () => {
    // Prepare
    const [first] = incidentLifecycle().steps;
    if (!first) throw new Error('no first page');
    // Act
    const card = teamsMessage(stepInput(first)).attachments[0].content;
    // Assess
    expect(card.body[0]).toEqual({
      type: 'TextBlock',
      text: '[P2] auth is down',
      wrap: true,
      size: 'Medium',
      weight: 'Bolder',
      color: 'Warning',
    });
    const facts = card.body.find((b) => b.type === 'FactSet');
    expect(facts?.type === 'FactSet' && Object.fromEntries(facts.facts.map((f) => [f.title, f.value]))).toMatchObject({
      Severity: 'P2',
      Status: 'open',
      Title: 'auth is down',
      Where: 'auth on 127.0.0.1',
      Since: '2026-12-01T02:00:00.000Z (5m ago)',
      Level: '1',
    });
    const texts = card.body.flatMap((b) => (b.type === 'TextBlock' ? [b.text] : []));
    expect(texts).toContain('What was done');
    expect(texts).toContain('- restart of auth failed (exit 1): port 8000 still held\n- paged level 1 (Operations)');
    expect(texts).toContain('How to acknowledge');
    expect(texts.some((t) => /^acgs-ops incident ack INC-/.test(t))).toBe(true);
    expect(texts.at(-1)).toBe(`acgs-ops page · ${new Date(T0 + 5 * MINUTE).toISOString()}`);
  });

  it('colours a resolution good', () => {
    // Prepare
    const steps = incidentLifecycle().steps;
    const resolved = steps.at(-1);
    if (!resolved) throw new Error('no resolved step');
    // Act
    const card = teamsMessage(stepInput(resolved)).attachments[0].content;
    // Assess
    expect(card.body[0]).toMatchObject({ text: '[P2] Resolved: auth is down', color: 'Good' });
  });

  it('stays under the 28 KB message limit for a huge incident written in characters of three and four bytes', () => {
    // Prepare: long texts and names, and a history of 60 restarts each failing with a long CJK message
    const { steps } = incidentLifecycle({ title: '認証'.repeat(3_000), detail: '😱'.repeat(10_000) });
    const history: TimelineEntry[] = Array.from({ length: 60 }, (_, i) => ({
      at: T0 + i * MINUTE,
      type: 'remediation',
      action: 'restart',
      service: 'auth',
      outcome: 'failed',
      detail: `再起動に失敗しました ${i} ${'認'.repeat(1_500)}`,
    }));
    const inputs = steps.map((step): ChannelInput => {
      const input = stepInput(step);
      if (input.notice) {
        const notice = { ...input.notice.notice, by: '運用'.repeat(1_000), text: '説明'.repeat(1_000) };
        return noticeInput({ ...input.notice, notice, recent: [...history, ...input.notice.recent] });
      }
      const message = input.page.message;
      const actions = [...history.map((h) => (h.type === 'remediation' ? h.detail : '')), ...message.body.actions];
      return { page: { ...input.page, message: { ...message, body: { ...message.body, actions } } } };
    });
    // Act
    const messages = inputs.map((input) => teamsMessage(input));
    // Assess
    for (const message of messages) {
      expect(teamsMessageSchema.safeParse(message).success).toBe(true);
      expect(bytes(message)).toBeLessThanOrEqual(24 * 1024);
      const texts = message.attachments[0].content.body.flatMap((b) => (b.type === 'TextBlock' ? [b.text] : []));
      expect(texts).toContain('What was done');
    }
  });
});
