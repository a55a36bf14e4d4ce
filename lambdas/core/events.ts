import * as z from './zod-mini.ts';

/**
 * The control plane's events: one source, a few detail types, a zod schema each. The CDK rules match on these
 * constants and the handlers parse with these schemas, so producer and consumer cannot drift apart.
 */
export const EVENT_SOURCE = 'acgs.ops-control-plane';

export const DETAIL_TYPE = {
  healthChanged: 'Health Changed',
  incidentOpened: 'Incident Opened',
  incidentEscalated: 'Incident Escalated',
  incidentResolved: 'Incident Resolved',
  remediationFinished: 'Remediation Finished',
} as const;

const health = z.enum(['unknown', 'up', 'degraded', 'down']);
const severity = z.enum(['P1', 'P2', 'P3']);

export const healthChangedDetail = z.object({
  targetId: z.string().check(z.minLength(1)),
  from: health,
  to: health,
  flapping: z.optional(z.enum(['started', 'stopped'])),
  at: z.iso.datetime(),
});

export const incidentDetail = z.object({
  incidentId: z.string().check(z.minLength(1)),
  dedupKey: z.string().check(z.minLength(1)),
  severity,
  title: z.string(),
  services: z.array(z.string()),
  status: z.enum(['open', 'acknowledged', 'resolved']),
  at: z.iso.datetime(),
});

export const incidentEscalatedDetail = z.extend(incidentDetail, {
  level: z.int().check(z.minimum(1)),
  why: z.string(),
});

export const remediationFinishedDetail = z.object({
  attemptId: z.string().check(z.minLength(1)),
  incidentId: z.string().check(z.minLength(1)),
  service: z.string().check(z.minLength(1)),
  outcome: z.enum(['succeeded', 'failed']),
  detail: z.string(),
  at: z.iso.datetime(),
});

export type ControlPlaneEvent =
  | { readonly detailType: typeof DETAIL_TYPE.healthChanged; readonly detail: z.infer<typeof healthChangedDetail> }
  | { readonly detailType: typeof DETAIL_TYPE.incidentOpened; readonly detail: z.infer<typeof incidentDetail> }
  | { readonly detailType: typeof DETAIL_TYPE.incidentResolved; readonly detail: z.infer<typeof incidentDetail> }
  | {
      readonly detailType: typeof DETAIL_TYPE.incidentEscalated;
      readonly detail: z.infer<typeof incidentEscalatedDetail>;
    }
  | {
      readonly detailType: typeof DETAIL_TYPE.remediationFinished;
      readonly detail: z.infer<typeof remediationFinishedDetail>;
    };

export const DETAIL_SCHEMAS = {
  [DETAIL_TYPE.healthChanged]: healthChangedDetail,
  [DETAIL_TYPE.incidentOpened]: incidentDetail,
  [DETAIL_TYPE.incidentResolved]: incidentDetail,
  [DETAIL_TYPE.incidentEscalated]: incidentEscalatedDetail,
  [DETAIL_TYPE.remediationFinished]: remediationFinishedDetail,
} as const;

export function incidentEventDetail(
  incident: {
    id: string;
    dedupKey: string;
    severity: 'P1' | 'P2' | 'P3';
    title: string;
    services: readonly string[];
    status: 'open' | 'acknowledged' | 'resolved';
  },
  at: number,
): z.infer<typeof incidentDetail> {
  return {
    incidentId: incident.id,
    dedupKey: incident.dedupKey,
    severity: incident.severity,
    title: incident.title,
    services: [...incident.services],
    status: incident.status,
    at: new Date(at).toISOString(),
  };
}
