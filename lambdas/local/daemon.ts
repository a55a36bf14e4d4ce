import { open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Cron } from 'croner';
import {
  isStorageFailure,
  type StateWriteStatus,
  WriteBehindStateStore,
} from '../adapters/local/write-behind-state-store.ts';
import { defaultPitrDrillScratch } from '../core/backup-archiving.ts';
import { cycleFailed, cycleSucceeded, type PingOutcome } from '../core/dead-mans-switch.ts';
import { errorMessage } from '../core/errors.ts';
import { type Schedule, type ScheduleName, toCroner } from '../core/schedules.ts';
import type { Prober } from '../ports.ts';
import { applyRetention, monitorBackups, runBackup, runDrill } from '../use-cases/backups.ts';
import { scheduledConfigArchive } from '../use-cases/config-archive.ts';
import type { ControlPlaneContext } from '../use-cases/context.ts';
import { deliverNotices } from '../use-cases/deliver-notices.ts';
import { runScheduledEscalationTest } from '../use-cases/escalation-test.ts';
import { type ProbeCycleResult, runProbeCycle } from '../use-cases/run-probe-cycle.ts';
import { sweepEscalations } from '../use-cases/sweep-escalations.ts';
import { runPitrDrill, takeBaseBackup, writeCanary } from '../use-cases/wal-archiving.ts';
import type { LocalRuntime } from './runtime.ts';

export interface Heartbeat {
  readonly at: string;
  readonly cycles: number;
  readonly lastCycleMs: number;
  readonly targets: number;
  readonly healthy: number;
  readonly openIncidents: number;
  readonly pid: number;
  /** Whether the state directory takes writes; while it does not, changes are held in memory and paging goes on. */
  readonly state: {
    readonly writable: boolean;
    readonly pendingChanges: number;
    readonly since?: string;
    readonly error?: string;
  };
  /**
   * When the daemon stopped cleanly (SIGTERM or SIGINT, its work finished): absent while it runs, and after a crash,
   * a kill -9 or a hang, which `acgs-ops status` then calls silent.
   */
  readonly stoppedAt?: string;
}

/** The dead man's switch, told how each probe cycle went (adapters/http/dead-mans-switch.ts). */
export interface CyclePinger {
  /** In the background: never throws, never holds up the cycle. */
  report(outcome: PingOutcome): Promise<void>;
}

/** The heartbeat file is padded to this size, so it can be rewritten in place on a full disk. */
const HEARTBEAT_BYTES = 1_024;

/**
 * The single-host control plane: the probe cycle and the escalation sweep on the config's schedules (croner,
 * from the same declarations that become EventBridge Scheduler schedules in AWS). Wiring only: every rule lives in
 * the use-cases, every timer in the state, so a restarted daemon resumes open incidents, pending escalations and
 * breaker counts exactly where the last one stopped.
 */
export class LocalDaemon {
  /** The runtime's context, over state that is held in memory while the disk refuses writes. */
  readonly ctx: ControlPlaneContext;
  private readonly state: WriteBehindStateStore;
  private readonly jobs: Cron[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  /**
   * Probe cycles and sweeps run one at a time; backup tasks one at a time beside them; lifecycle notices one pass at
   * a time beside them too (a slow channel never delays detection).
   */
  private readonly queues: Record<'steps' | 'backups' | 'notices', Promise<unknown>> = {
    steps: Promise.resolve(),
    backups: Promise.resolve(),
    notices: Promise.resolve(),
  };
  private cycles = 0;
  private stopped = false;
  private noticePass: Promise<unknown> | undefined;
  /** The last heartbeat written, rewritten with `stoppedAt` on a clean stop. */
  private lastBeat: Heartbeat | undefined;

  constructor(
    private readonly runtime: LocalRuntime,
    private readonly prober: Prober,
    private readonly pinger?: CyclePinger,
  ) {
    const { ctx } = runtime;
    this.state = new WriteBehindStateStore(
      runtime.store,
      ctx.clock,
      (status) => this.reportState(status),
      (what, error) => ctx.log('state-change-refused', { what, error: errorMessage(error) }),
    );
    this.ctx = { ...ctx, states: this.state, incidents: this.state, control: this.state };
  }

  /** Runs one probe cycle and one sweep at once, then keeps them on schedule. */
  async start(): Promise<void> {
    const { config } = this.ctx;
    const tz = config.schedules.timeZone;
    await this.probeCycle();
    await this.sweep();
    this.jobs.push(this.schedule(toCroner(config.schedules.probe, tz), () => this.probeCycle()));
    this.jobs.push(this.schedule(toCroner(config.schedules.escalationSweep, tz), () => this.sweep()));
    const escalationTest = config.schedules.escalationTest;
    if (escalationTest) this.jobs.push(this.schedule(toCroner(escalationTest, tz), () => this.escalationTest()));
    for (const { name, schedule, task } of this.backupJobs())
      this.jobs.push(this.schedule(toCroner(schedule, tz), () => this.backupTask(name, task)));
    const canary = config.schedules.canary;
    if (canary && this.runtime.backups && config.backups?.archiving)
      this.jobs.push(this.schedule(toCroner(canary, tz), () => this.canary()));
  }

  /**
   * The backup schedules this daemon keeps, with their tasks: the daily backup, the monitor, retention, the restore
   * drill where `backups.drill` is set, and the base backup and point-in-time restore drill of WAL archiving where
   * `backups.archiving` is. None without a backup directory.
   */
  backupJobs(): { name: ScheduleName; schedule: Schedule; task: () => Promise<unknown> }[] {
    const backups = this.runtime.backups;
    if (!backups) return [];
    const { ctx } = this;
    const { config } = ctx;
    const tasks: [ScheduleName, () => Promise<unknown>][] = [
      ['backup', () => runBackup(ctx, backups)],
      ['backupMonitor', () => monitorBackups(ctx, backups.objects)],
      ['cleanup', () => applyRetention(ctx, backups.objects)],
    ];
    if (config.backups?.drill) tasks.push(['drill', () => runDrill(ctx, backups)]);
    if (config.backups?.configArchive) tasks.push(['configArchive', () => scheduledConfigArchive(ctx)]);
    if (config.backups?.archiving) {
      const pgBin = backups.pgBinDir === undefined ? {} : { pgBinDir: backups.pgBinDir };
      tasks.push(['baseBackup', () => takeBaseBackup(ctx, pgBin)]);
      tasks.push([
        'pitrDrill',
        () => runPitrDrill(ctx, backups.objects, { target: 'latest', ...defaultPitrDrillScratch(config), ...pgBin }),
      ]);
    }
    return tasks.flatMap(([name, task]) => {
      const schedule = config.schedules[name];
      return schedule ? [{ name, schedule, task }] : [];
    });
  }

  /**
   * Writes the canary, beside the backup tasks rather than behind them: a dump or a drill may take many minutes, and
   * the canary's cadence is what a restore's achieved RPO is read against. One at a time (the job is protected).
   */
  canary(): Promise<unknown> {
    if (this.stopped) return Promise.resolve(undefined);
    const { ctx } = this;
    const pgBinDir = this.runtime.backups?.pgBinDir;
    const run = writeCanary(ctx, pgBinDir === undefined ? {} : { pgBinDir }).then(
      (result) => {
        if (result.state !== 'written') ctx.log('canary-failed', { error: result.error ?? result.state });
        return result;
      },
      (error: unknown) => {
        ctx.log('canary-failed', { error: errorMessage(error) });
        return undefined;
      },
    );
    this.track(run.then(() => {}));
    return run;
  }

  /**
   * Backup tasks run one at a time, beside (not behind) the probe cycle: a dump may take many minutes and must not
   * delay detection. Their incident writes are optimistic, like everyone else's.
   */
  backupTask(name: string, task: () => Promise<unknown>): Promise<unknown> {
    const next = this.serial('backups', task, (error) => ({ task: name, error: errorMessage(error) }));
    this.track(next.then(() => {}));
    return next;
  }

  /** Stops the schedules, lets the running step and restarts in flight finish, and closes the state. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const job of this.jobs) job.stop();
    await Promise.allSettled(Object.values(this.queues));
    await Promise.allSettled([...this.inFlight]);
    if (!(await this.state.flush().catch(() => false)))
      this.ctx.log('state-unwritten', {
        pendingChanges: this.state.status().pendingChanges,
        note: 'the state directory still refuses writes: changes since the failure are lost with this process',
      });
    // The heartbeat says "stopped cleanly", so that `status` does not call this daemon silent.
    if (this.lastBeat)
      await this.writeBeat({ ...this.lastBeat, stoppedAt: new Date(this.ctx.clock.now()).toISOString() }).catch(
        (error: unknown) => this.ctx.log('heartbeat-unwritten', { error: errorMessage(error) }),
      );
    this.runtime.close();
  }

  /** One probe cycle, serialised with the sweep (both write incidents). */
  probeCycle(): Promise<ProbeCycleResult | undefined> {
    return this.exclusive(async () => {
      let result: ProbeCycleResult;
      try {
        await this.state.flush();
        result = await runProbeCycle(this.ctx, this.prober);
        for (const p of result.remediation.inFlight) this.track(p);
        this.cycles++;
        await this.writeHeartbeat(result);
      } catch (error) {
        this.ping(cycleFailed(errorMessage(error)));
        throw error;
      }
      this.ping(this.cycleOutcome(result));
      this.notices();
      return result;
    });
  }

  /** How the cycle went for the dead man's switch: a state that takes no writes is a failure, paging or not. */
  private cycleOutcome(result: ProbeCycleResult): PingOutcome {
    const state = this.state.status();
    if (!state.writable)
      return cycleFailed(
        `the state directory takes no writes since ${state.since === undefined ? '?' : new Date(state.since).toISOString()} ` +
          `(${state.error ?? 'unknown error'}); ${state.pendingChanges} change(s) held in memory, lost if the daemon stops`,
      );
    return cycleSucceeded({
      targets: result.results.length,
      healthy: result.results.filter((r) => r.status === 'healthy').length,
      openIncidents: result.incidents.open.length,
      durationMs: result.durationMs,
    });
  }

  private ping(outcome: PingOutcome): void {
    if (this.pinger) this.track(this.pinger.report(outcome));
  }

  /** The escalation sweep, then a notice pass on the notices' own queue (not inside the sweep, which holds the steps). */
  sweep(): Promise<unknown> {
    return this.exclusive(async () => {
      await this.state.flush();
      const advanced = await sweepEscalations(this.ctx, false);
      this.notices();
      return advanced;
    });
  }

  /**
   * Delivers the lifecycle notices due (an incident opened or resolved by the cycle, a maintenance window starting),
   * beside the steps; a pass queued and not yet started is enough, so passes never pile up behind a slow channel.
   */
  notices(): Promise<unknown> {
    if (this.noticePass) return this.noticePass;
    const pass = this.serial(
      'notices',
      () => {
        // Started: a notice owed from now on needs another pass.
        this.noticePass = undefined;
        return deliverNotices(this.ctx);
      },
      (error) => ({ task: 'notices', error: errorMessage(error) }),
    );
    this.noticePass = pass;
    this.track(pass.then(() => {}));
    return pass;
  }

  /** The scheduled escalation test, serialised with the probe cycle and the sweep (it writes an incident). */
  escalationTest(): Promise<unknown> {
    return this.exclusive(() => runScheduledEscalationTest(this.ctx));
  }

  /** Restarts still running; tests and the demo wait for them. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.inFlight]);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T | undefined> {
    // A failed cycle is reported and the next one runs: the daemon must not die of one bad step.
    return this.serial('steps', work, (error) => ({
      error: error instanceof Error ? (error.stack ?? errorMessage(error)) : errorMessage(error),
    }));
  }

  /** Runs `work` after everything queued on `queue`, never after stop; a failure is logged, not thrown. */
  private serial<T>(
    queue: 'steps' | 'backups' | 'notices',
    work: () => Promise<T>,
    report: (error: unknown) => Record<string, unknown>,
  ): Promise<T | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const next = this.queues[queue]
      .catch(() => {})
      .then(async () => {
        if (this.stopped) return undefined;
        try {
          return await work();
        } catch (error) {
          this.ctx.log(queue === 'steps' ? 'step-failed' : 'backup-task-failed', report(error));
          return undefined;
        }
      });
    this.queues[queue] = next;
    return next;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private schedule(schedule: ReturnType<typeof toCroner>, run: () => Promise<unknown>): Cron {
    return new Cron(
      schedule.pattern,
      { timezone: schedule.timezone, ...(schedule.interval ? { interval: schedule.interval } : {}), protect: true },
      async () => {
        await run();
      },
    );
  }

  /** One line when the state stops taking writes and one when it takes them again: never one per cycle. */
  private reportState(status: StateWriteStatus): void {
    const since = status.since === undefined ? undefined : new Date(status.since).toISOString();
    if (!status.writable)
      this.ctx.log('STATE-NOT-WRITABLE', {
        stateDir: this.runtime.stateDir,
        error: status.error,
        note: 'paging goes on; changes are held in memory and written once the state directory takes writes again',
      });
    else
      this.ctx.log('state-writable-again', { stateDir: this.runtime.stateDir, since, written: status.pendingChanges });
  }

  private async writeHeartbeat(result: ProbeCycleResult): Promise<void> {
    const state = this.state.status();
    const heartbeat: Heartbeat = {
      at: new Date(this.ctx.clock.now()).toISOString(),
      cycles: this.cycles,
      lastCycleMs: result.durationMs,
      targets: result.results.length,
      healthy: result.results.filter((r) => r.status === 'healthy').length,
      openIncidents: result.incidents.open.length,
      pid: process.pid,
      state: {
        writable: state.writable,
        pendingChanges: state.pendingChanges,
        ...(state.since === undefined ? {} : { since: new Date(state.since).toISOString() }),
        ...(state.error === undefined ? {} : { error: state.error }),
      },
    };
    this.lastBeat = heartbeat;
    await this.writeBeat(heartbeat);
  }

  private async writeBeat(heartbeat: Heartbeat): Promise<void> {
    const file = join(this.runtime.stateDir, 'heartbeat.json');
    const text = JSON.stringify(heartbeat, null, 2);
    const padded = `${text.padEnd(HEARTBEAT_BYTES - 1)}\n`;
    try {
      await writeFile(`${file}.tmp`, padded);
      await rename(`${file}.tmp`, file);
    } catch (error) {
      await rm(`${file}.tmp`, { force: true });
      if (!isStorageFailure(error)) throw error;
      // A full disk has no room for a new file: overwrite the old one's bytes in place (same size, no new blocks).
      await overwriteInPlace(file, padded);
    }
  }
}

async function overwriteInPlace(file: string, text: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(text, 0, 'utf8');
  } finally {
    await handle.close();
  }
}
