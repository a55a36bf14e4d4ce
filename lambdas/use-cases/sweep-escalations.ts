import { errorMessage } from '../core/errors.ts';
import type { Incident } from '../core/incident.ts';
import { advanceEscalation } from './advance-escalation.ts';
import { type ControlPlaneContext, mutingWindows } from './context.ts';
import { type DeliverNoticesOptions, deliverDueNotices } from './deliver-notices.ts';
import { expireStuckAttempts } from './remediate.ts';

/**
 * The escalation sweep (every minute): every incident whose `nextAt` has come takes its next step. The timers are
 * data on the incidents, so a restarted daemon or a cold Lambda picks up exactly where the last one stopped. The
 * lifecycle notices owed then go out (`deliver-notices.ts`), and those of maintenance windows, unless `notices` is
 * false: the daemon delivers them on a queue of its own, so that a slow channel never holds up the next probe cycle.
 */
export async function sweepEscalations(
  ctx: ControlPlaneContext,
  notices: DeliverNoticesOptions | false = {},
): Promise<Incident[]> {
  const now = ctx.clock.now();
  const [due, windows] = await Promise.all([ctx.incidents.listIncidentsDue(now), mutingWindows(ctx, now)]);
  const advanced: Incident[] = [];
  for (const incident of due) {
    // One incident's failure (a throttled read, a lost race) must not hold up every escalation after it.
    try {
      const next = await advanceEscalation(ctx, incident, windows);
      if (next) advanced.push(next);
    } catch (error) {
      ctx.log('sweep-step-failed', {
        incidentId: incident.id,
        error: errorMessage(error),
      });
    }
  }
  // Lifecycle notices owed by these incidents (resolved ones too: a resolve is announced after it), as they are now.
  if (notices !== false) {
    const fresh = due.map((incident) => advanced.find((a) => a.id === incident.id) ?? incident);
    await deliverDueNotices(ctx, fresh, notices);
  }
  await expireStuckAttempts(ctx);
  return advanced;
}
