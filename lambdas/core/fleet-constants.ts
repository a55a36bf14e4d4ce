/**
 * The fleet config's fixed vocabularies, apart from its schema (config-schema.ts, which re-exports them) so that a
 * Lambda handler can name a severity without bundling and building the whole zod schema at cold start.
 */
export const SEVERITIES = ['P1', 'P2', 'P3'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const SIGNALS = ['latencyP95Ms', 'errorRatePercent', 'cpuPercent', 'memoryPercent'] as const;
export type Signal = (typeof SIGNALS)[number];
