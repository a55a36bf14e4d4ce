/**
 * PagerDuty's fixed values, apart from the event builder so that the config schema can use them without importing
 * the incident types (config-schema.ts is where those types start).
 */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
/** The EU service region's endpoint. */
export const PAGERDUTY_EU_EVENTS_URL = 'https://events.eu.pagerduty.com/v2/enqueue';

export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type PagerDutySeverity = (typeof PAGERDUTY_SEVERITIES)[number];
