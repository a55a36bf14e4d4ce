/**
 * The fleet config's fixed vocabularies, apart from its schema (config-schema.ts, which re-exports them) so that a
 * Lambda handler can name a severity without bundling and building the whole zod schema at cold start.
 */
export const SEVERITIES = ['P1', 'P2', 'P3'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SIGNALS = ['latencyP95Ms', 'errorRatePercent', 'cpuPercent', 'memoryPercent'] as const;
export type Signal = (typeof SIGNALS)[number];

/** Lifecycle notice kinds (`core/notices.ts`), here so the config schema needs no incident types. */
export const NOTICE_KINDS = [
  'opened',
  'escalated',
  'acknowledged',
  'update',
  'sla-breached',
  'resolved',
  'maintenance-started',
  'maintenance-ended',
  'test',
] as const;

export type NoticeKind = (typeof NOTICE_KINDS)[number];
