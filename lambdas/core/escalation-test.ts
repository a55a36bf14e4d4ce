import { formatDuration } from './duration.ts';
import type { Incident } from './incident.ts';

/**
 * `acgs-ops escalation test`: a synthetic P3 incident of kind `test`, paged once through the page channels (or one),
 * that passes when someone acknowledges it before its deadline and fails otherwise. It never escalates, is never
 * muted by maintenance, never restarts anything, and its dedup key is unique per run, so it never folds into a real
 * incident. The deadline is the incident's `escalation.nextAt`: the sweep closes it there (a scheduled run does not
 * wait), and an acknowledgement brings it in to the acknowledgement itself. Where it pages: `escalation-test-routing.ts`.
 */
export {
  DEFAULT_ESCALATION_TEST_CRON,
  DEFAULT_ESCALATION_TEST_WAIT_MS,
  ESCALATION_TEST_TASK,
  ESCALATION_TEST_WAIT,
  pageChannels,
  type TestRouting,
  testRouting,
  testRoutingProblem,
} from './escalation-test-routing.ts';

/** How a test incident ends: passed once acknowledged, failed once its deadline passed unacknowledged. */
export interface TestVerdict {
  readonly passed: boolean;
  readonly resolution: string;
}

/** The resolution of a test nobody acknowledged in time. */
export const TEST_NOT_ACKNOWLEDGED = 'escalation test failed: not acknowledged';

/** The verdict on a test incident at `now`; undefined while it is still waiting (or not a test, or resolved). */
export function testVerdict(incident: Incident, now: number): TestVerdict | undefined {
  if (incident.kind !== 'test' || incident.status === 'resolved') return undefined;
  if (incident.acknowledgedAt !== undefined)
    return {
      passed: true,
      resolution: `escalation test passed: acknowledged by ${incident.acknowledgedBy ?? 'someone'} after ${formatDuration(
        incident.acknowledgedAt - incident.openedAt,
      )}`,
    };
  const deadline = incident.escalation.nextAt;
  if (deadline !== undefined && now >= deadline) return { passed: false, resolution: TEST_NOT_ACKNOWLEDGED };
  return undefined;
}

/** Whether a resolved test incident passed (its resolution says so). */
export function testPassed(incident: Pick<Incident, 'kind' | 'resolution'>): boolean {
  return incident.kind === 'test' && (incident.resolution ?? '').startsWith('escalation test passed');
}
