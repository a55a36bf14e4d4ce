import { UsageError } from './errors.ts';
import { type Incident, SECURITY_STEPS, type SecurityStep, type TimelineEntry } from './incident.ts';

export { SECURITY_STEPS, type SecurityStep };

/**
 * The runbook's "Security Alert" procedure as a checklist a security incident carries: each step is ticked off on
 * the incident's timeline (a `checklist` entry: who, when, and an optional note), so the timeline is the record of
 * what was done and the checklist is read back from it. `isolate` is ticked by the control plane itself once every
 * service named in the declaration was isolated.
 */
/** The runbook's wording of each step ("Security Alert", steps 1-6). */
export const SECURITY_STEP_TEXT: Record<SecurityStep, string> = {
  isolate: 'Immediate: isolate affected systems',
  assess: 'Assess: determine scope and impact',
  contain: 'Contain: implement security measures',
  investigate: 'Investigate: analyze attack vectors',
  recover: 'Recover: restore services securely',
  report: 'Report: document the security incident',
};

export interface ChecklistItem {
  readonly step: SecurityStep;
  readonly text: string;
  readonly ticked: boolean;
  /** The first tick: when, by whom, with what note. */
  readonly at?: number;
  readonly by?: string;
  readonly note?: string;
}

export function isSecurityStep(value: string): value is SecurityStep {
  return (SECURITY_STEPS as readonly string[]).includes(value);
}

/**
 * The step named by an operator.
 * @throws UsageError naming the value (quoted, at most 40 characters) and the steps there are.
 */
export function parseSecurityStep(value: string): SecurityStep {
  if (isSecurityStep(value)) return value;
  const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  throw new UsageError(`unknown checklist step ${shown} (steps: ${SECURITY_STEPS.join(', ')})`);
}

/** Whether the incident carries the checklist: security incidents do, others do not. */
export function hasSecurityChecklist(incident: Pick<Incident, 'kind'>): boolean {
  return incident.kind === 'security';
}

/** The checklist as the timeline records it, in the runbook's order; a step ticked twice keeps its first tick. */
export function securityChecklist(timeline: readonly TimelineEntry[]): ChecklistItem[] {
  return SECURITY_STEPS.map((step) => {
    const tick = timeline.find(
      (e): e is Extract<TimelineEntry, { type: 'checklist' }> => e.type === 'checklist' && e.step === step,
    );
    const base = { step, text: SECURITY_STEP_TEXT[step] };
    if (!tick) return { ...base, ticked: false };
    return { ...base, ticked: true, at: tick.at, by: tick.by, ...(tick.note === undefined ? {} : { note: tick.note }) };
  });
}

/**
 * The timeline entry that ticks `step` off.
 * @throws UsageError when the incident carries no checklist, or the step is already ticked (naming who ticked it).
 */
export function tickStep(
  incident: Pick<Incident, 'id' | 'kind'>,
  timeline: readonly TimelineEntry[],
  tick: { readonly step: SecurityStep; readonly by: string; readonly note?: string | undefined },
  now: number,
): TimelineEntry {
  if (!hasSecurityChecklist(incident))
    throw new UsageError(
      `incident ${incident.id} is a ${incident.kind} incident: only security incidents carry the checklist`,
    );
  const done = securityChecklist(timeline).find((i) => i.step === tick.step);
  if (done?.ticked)
    throw new UsageError(
      `step ${tick.step} of incident ${incident.id} was already ticked by ${done.by}; add to it with a note`,
    );
  return {
    at: now,
    type: 'checklist',
    by: tick.by,
    step: tick.step,
    ...(tick.note === undefined ? {} : { note: tick.note }),
  };
}
