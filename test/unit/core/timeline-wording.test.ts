import { describe, expect, it } from 'vitest';
import type { TimelineEntry } from '../../../lambdas/core/incident.ts';
import { describeEntry } from '../../../lambdas/core/timeline-wording.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');

/** Every kind of entry, with its CLI line and its page line (undefined: a page does not list it). */
const CASES: readonly [TimelineEntry, string, string | undefined][] = [
  [{ at: T0, type: 'opened', severity: 'P1', detail: 'auth down' }, 'opened P1: auth down', undefined],
  [
    { at: T0, type: 'severity-raised', from: 'P2', to: 'P1', detail: 'quorum lost' },
    'severity P2 -> P1: quorum lost',
    undefined,
  ],
  [{ at: T0, type: 'impact-changed', added: ['pgc', 'gs'] }, 'impact grew: pgc, gs', undefined],
  [{ at: T0, type: 'flapping', flapping: true }, 'flapping started', undefined],
  [{ at: T0, type: 'flapping', flapping: false }, 'flapping stopped', undefined],
  [
    { at: T0, type: 'paged', level: 2, levelName: 'lead', contacts: ['ana', 'bo'], why: 'escalated' },
    'paged level 2 (lead) [escalated]: ana, bo',
    'paged level 2 (lead)',
  ],
  [
    { at: T0, type: 'page-muted', until: T0 + 3_600_000, window: 'mw-1' },
    'page muted by maintenance window mw-1 until 2026-03-01T11:00:00.000Z',
    undefined,
  ],
  [{ at: T0, type: 'acknowledged', by: 'ana', note: 'on it' }, 'acknowledged by ana: on it', 'acknowledged by ana'],
  [{ at: T0, type: 'acknowledged', by: 'ana' }, 'acknowledged by ana', 'acknowledged by ana'],
  [{ at: T0, type: 'ack-expired' }, 'acknowledgement expired', undefined],
  [
    { at: T0, type: 'remediation', action: 'restart', service: 'auth', outcome: 'failed', detail: 'exit 1' },
    'restart auth failed: exit 1',
    'exit 1',
  ],
  [
    { at: T0, type: 'breaker-open', service: 'auth', restarts: 3, windowMs: 1_800_000 },
    'restart breaker open for auth: 3 restarts in 30m',
    'restart breaker open for auth (3 restarts in 30m)',
  ],
  [{ at: T0, type: 'note', by: 'bo', text: 'disk full' }, 'note by bo: disk full', undefined],
  [
    { at: T0, type: 'checklist', by: 'ana', step: 'assess', note: 'pgc only' },
    'checklist: assess done by ana: pgc only',
    'checklist: assess done by ana',
  ],
  [
    { at: T0, type: 'checklist', by: 'ana', step: 'contain' },
    'checklist: contain done by ana',
    'checklist: contain done by ana',
  ],
  [{ at: T0, type: 'resolved', by: 'bo', resolution: 'freed disk' }, 'resolved by bo: freed disk', undefined],
];

describe('describeEntry', () => {
  it.each(CASES)('words %j for the timeline as the CLI and the demo print it', (entry, timeline) => {
    // Act & Assess
    expect(describeEntry(entry)).toBe(timeline);
    expect(describeEntry(entry, 'timeline')).toBe(timeline);
  });

  it.each(CASES)('words %j for a page only when it is something done about the incident', (entry, _, page) => {
    // Act & Assess
    expect(describeEntry(entry, 'page')).toBe(page);
  });
});
