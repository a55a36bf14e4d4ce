import { errorMessage } from '../core/errors.ts';
import type { ControlPlaneContext } from './context.ts';

export interface ExclusiveRunOptions {
  /** What runs, one lease per kind: `probe`, `escalation-sweep`, `backup:drill`... */
  readonly name: string;
  /** Who runs it: the Lambda request id (a retry of the same invocation keeps it, and takes its own lease back). */
  readonly holder: string;
  /**
   * The longest this run can last: the invocation's time left. The lease ends then, so a run that crashed or was
   * killed at its timeout keeps the next one out no longer than it could have run itself.
   */
  readonly maxRunMs: number;
}

/** A run that did not start because another run of the same kind still holds the lease. */
export interface SkippedRun {
  readonly skipped: string;
  readonly heldBy: string;
  /** ISO time at which the holder's lease lapses. */
  readonly until: string;
}

export type ExclusiveRun<T> = { readonly ran: true; readonly value: T } | ({ readonly ran: false } & SkippedRun);

/**
 * Runs `work` unless a run of the same kind is still going, in any Lambda instance: a conditional lease in the
 * control store stands in for reserved concurrency (which accounts with the default quota of 10 cannot give). A run
 * that finds the lease held does nothing but say so; the next scheduled run tries again. The lease is given up as
 * soon as `work` ends, whether it succeeded or threw; if giving it up fails, it lapses at its end.
 */
export async function runExclusive<T>(
  ctx: ControlPlaneContext,
  options: ExclusiveRunOptions,
  work: () => Promise<T>,
): Promise<ExclusiveRun<T>> {
  const { name, holder } = options;
  const now = ctx.clock.now();
  const claim = await ctx.control.acquireLease(name, holder, now, now + Math.max(1, Math.floor(options.maxRunMs)));
  if (!claim.acquired) {
    const until = new Date(claim.until).toISOString();
    const skipped = `skipped: previous ${name} cycle still running (lease held by ${claim.holder} until ${until})`;
    ctx.log('run-skipped', { lease: name, holder, heldBy: claim.holder, until, skipped });
    return { ran: false, skipped, heldBy: claim.holder, until };
  }
  try {
    return { ran: true, value: await work() };
  } finally {
    try {
      await ctx.control.releaseLease(name, holder);
    } catch (error) {
      ctx.log('lease-release-failed', {
        lease: name,
        holder,
        error: errorMessage(error),
        note: 'the lease lapses by itself at the end of the run time',
      });
    }
  }
}

/** The lease of each kind of scheduled run. Backup tasks of different kinds may overlap (a monitor during a drill). */
export const RUN_LEASES = {
  probe: 'probe',
  escalationSweep: 'escalation-sweep',
  backup: (task: string) => `backup:${task}`,
} as const;
