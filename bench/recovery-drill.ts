/**
 * Recovery drill: how fast the single-host control plane notices a crashed service, restarts it and closes the
 * incident. For each configuration it starts the simulated ACGS-1 fleet (real processes), the local runtime and the
 * LocalDaemon with the real NetworkProber, then crashes one service per trial (rotating through the fleet) and times,
 * from the moment `crash()` returned: the incident opening, the first page, the restart request, the service
 * answering /health again (polled directly every 50 ms) and the incident's resolution. Prints figures; asserts
 * nothing about wall-clock.
 *
 * Floors, with probe interval I, N = failuresToDown and M = successesToUp:
 *  - detection: the first probe after the crash comes 0..I later, and N - 1 more are needed, so the incident opens
 *    (N - 1) x I to N x I after the crash (plus the cycle's own time). The floor is (N - 1) x I.
 *  - restart: requested in the very cycle that opens the incident, so it has the same window.
 *  - resolution: the first probe that sees the service healthy comes 0..I after it answers, and M - 1 more are
 *    needed, so it resolves (M - 1) x I to M x I after it is healthy. As the restart is requested on a probe tick and
 *    takes less than I here, the M healthy probes are the next M ticks: resolved = opened + M x I, i.e.
 *    (N + M - 1) x I to (N + M) x I after the crash.
 * The drill spreads its crashes evenly over the probe cycle (a fixed phase after each cycle starts, stepping from
 * trial to trial): crashing at once after the previous resolution would always hit the same phase, since
 * resolutions happen on ticks, and skew every figure to one end of its window.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalSecretSource } from '../lambdas/adapters/local/local-secret-source.ts';
import { parseFleetConfig } from '../lambdas/core/config.ts';
import type { Incident } from '../lambdas/core/incident.ts';
import type { ProbeResult } from '../lambdas/core/probe-evaluation.ts';
import type { RemediationAttempt } from '../lambdas/core/remediation.ts';
import type { Target } from '../lambdas/core/targets.ts';
import { fleetConfigYaml } from '../lambdas/demo/fleet-sim/config-text.ts';
import { request } from '../lambdas/demo/fleet-sim/loopback.ts';
import { planSimulatedFleet, type SimulatedFleetSpec } from '../lambdas/demo/fleet-sim/plan.ts';
import { crash, startFleet, stopFleet } from '../lambdas/demo/fleet-sim/processes.ts';
import { LocalDaemon } from '../lambdas/local/daemon.ts';
import { type LocalRuntime, openLocalRuntime } from '../lambdas/local/runtime.ts';
import { type Notification, type Notifier, type ProbeOptions, type Prober, systemClock } from '../lambdas/ports.ts';
import { NetworkProber } from '../lambdas/probes/network-prober.ts';

export interface DrillSetup {
  readonly probeEveryMs: number;
  readonly failuresToDown: number;
  readonly successesToUp: number;
}

export interface DrillOptions {
  readonly setups: readonly DrillSetup[];
  /** Crashes per configuration (services in turn). */
  readonly trials: number;
  /** How often the drill asks /health and the store. */
  readonly pollMs: number;
}

export const DEFAULT_DRILL: DrillOptions = {
  setups: [
    { probeEveryMs: 1_000, failuresToDown: 2, successesToUp: 2 },
    { probeEveryMs: 2_000, failuresToDown: 3, successesToUp: 2 },
  ],
  trials: 6,
  pollMs: 50,
};

/** Milliseconds after the crash returned, except `phaseMs` (crash after its probe cycle started). */
export interface DrillTrial {
  readonly service: string;
  readonly phaseMs: number;
  readonly firstFailMs: number;
  readonly openedMs: number;
  readonly pagedMs: number | undefined;
  readonly requestedMs: number;
  readonly healthyMs: number;
  readonly resolvedMs: number;
  readonly commandMs: number | undefined;
  readonly attempts: number;
  readonly incident: string;
  /** The incident opened this long after the probe cycle that opened it began (the cycle's own work). */
  readonly openLagMs: number;
  /** The longest time between two probe cycle starts from the crash to the resolution (the schedule's slack). */
  readonly maxGapMs: number;
}

export interface DrillRun {
  readonly setup: DrillSetup;
  readonly trials: readonly DrillTrial[];
}

export async function recoveryDrill(
  options: DrillOptions = DEFAULT_DRILL,
  log: (line: string) => void = console.log,
): Promise<DrillRun[]> {
  const abort = new AbortController();
  const onSignal = () => abort.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  const runs: DrillRun[] = [];
  try {
    for (const setup of options.setups) {
      const run = await drillOne(setup, options, abort.signal, log);
      runs.push(run);
      printRun(run, log);
    }
  } finally {
    process.off('SIGINT', onSignal);
  }
  return runs;
}

async function drillOne(
  setup: DrillSetup,
  options: DrillOptions,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<DrillRun> {
  const interval = setup.probeEveryMs;
  const dir = await mkdtemp(join(tmpdir(), 'acgs-drill-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  // The runtime's log lines are kept quiet, but the last ones are shown when the drill fails.
  const recent: string[] = [];
  const write = (text: string) => {
    recent.push(text.trimEnd());
    if (recent.length > 40) recent.shift();
  };
  try {
    const spec = await planSimulatedFleet({ dir, watchPid: process.pid });
    cleanups.unshift(() => stopFleet(spec));
    const parsed = parseFleetConfig(
      fleetConfigYaml(spec, {
        probeEvery: interval,
        escalationSweepEvery: interval,
        failuresToDown: setup.failuresToDown,
        successesToUp: setup.successesToUp,
      }),
    );
    if (!parsed.ok) throw new Error(`drill config is invalid: ${JSON.stringify(parsed.problems)}`);
    await startFleet(spec);

    const pages = new Map<string, number>();
    const notifier: Notifier = {
      deliveryTimeoutMs: 1_000,
      notify: async (n: Notification) => {
        if (!pages.has(n.incident.id)) pages.set(n.incident.id, Date.now());
      },
      noticeChannels: () => [],
      sendNotice: async () => {},
    };
    const runtime = openLocalRuntime({
      config: parsed.config,
      stateDir: join(dir, 'state'),
      env: process.env,
      write,
      notifier,
    });
    const prober = new CycleWatch(new NetworkProber(systemClock, new LocalSecretSource()));
    const daemon = new LocalDaemon(runtime, prober);
    cleanups.unshift(() => daemon.stop());
    await daemon.start();
    const wait = waiter(signal, options.pollMs);
    await wait('every target up', 30_000, () => allUp(runtime));

    const seen = new Set<string>();
    const trials: DrillTrial[] = [];
    const trialTimeoutMs =
      (setup.failuresToDown + setup.successesToUp + 3) * interval + parsed.config.remediation.restartTimeout + 10_000;
    for (let k = 0; k < options.trials; k++) {
      const service = spec.services[k % spec.services.length];
      if (!service) throw new Error('the fleet has no services');
      // Settle: the last restart finished, every target up; then crash at this trial's phase of a fresh cycle.
      await daemon.settled();
      await wait('every target up', 30_000, () => allUp(runtime));
      const phase = 50 + (options.trials === 1 ? 0 : (k / (options.trials - 1)) * (interval - 250));
      const cycles = prober.cycles;
      await wait('the next probe cycle', interval * 3, async () => prober.cycles > cycles);
      await sleep(Math.max(0, prober.lastStart + phase - Date.now()));

      await crash(spec, service.name);
      const crashAt = Date.now();
      const phaseMs = crashAt - prober.lastStart;
      const stopPolling = new AbortController();
      const healthy = pollHealthy(
        spec,
        service.name,
        crashAt + trialTimeoutMs,
        options.pollMs,
        AbortSignal.any([signal, stopPolling.signal]),
      );
      // Awaited below; until then a failure of the trial must not leave it polling or rejecting unhandled.
      healthy.catch(() => {});
      try {
        const incident = await wait(`an incident for ${service.name}`, trialTimeoutMs, async () =>
          (await runtime.ctx.incidents.listIncidents({ since: crashAt - interval, limit: 20 })).find(
            (i) => i.services.includes(service.name) && !seen.has(i.id),
          ),
        );
        seen.add(incident.id);
        const resolved = await wait(`${incident.id} (${service.name}) resolved`, trialTimeoutMs, async () => {
          const current = await runtime.ctx.incidents.getIncident(incident.id);
          return current?.resolvedAt === undefined ? undefined : current;
        });
        const healthyAt = await healthy;
        await daemon.settled();
        const attempts = (await runtime.ctx.control.listAttempts([service.name], crashAt - interval)).filter(
          (a) => a.incidentId === incident.id,
        );
        const attempt = attempts[0];
        if (!attempt) throw new Error(`no restart was requested for ${service.name} (${incident.id})`);
        trials.push({
          ...trialOf(service.name, crashAt, phaseMs, resolved, attempt, attempts.length, healthyAt, pages),
          ...cycleTimes(prober.starts, crashAt, resolved),
        });
      } finally {
        stopPolling.abort();
      }
    }
    return { setup, trials };
  } catch (error) {
    if (recent.length > 0) log(`last daemon lines:\n${recent.join('\n')}`);
    throw error;
  } finally {
    for (const cleanup of cleanups) {
      await cleanup().catch((e: unknown) => log(`cleanup: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
}

function cycleTimes(
  starts: readonly number[],
  crashAt: number,
  incident: Incident,
): Pick<DrillTrial, 'openLagMs' | 'maxGapMs'> {
  const opening = starts.filter((at) => at <= incident.openedAt).at(-1) ?? Number.NaN;
  const end = incident.resolvedAt ?? Number.POSITIVE_INFINITY;
  const around = starts.filter((at, i) => at >= crashAt && at <= end && i > 0);
  const gaps = around.map((at) => at - (starts[starts.indexOf(at) - 1] ?? at));
  return { openLagMs: incident.openedAt - opening, maxGapMs: Math.max(...gaps) };
}

function trialOf(
  service: string,
  crashAt: number,
  phaseMs: number,
  incident: Incident,
  attempt: RemediationAttempt,
  attempts: number,
  healthyAt: number,
  pages: ReadonlyMap<string, number>,
): Omit<DrillTrial, 'openLagMs' | 'maxGapMs'> {
  const paged = pages.get(incident.id);
  return {
    service,
    phaseMs,
    firstFailMs: incident.failingSince - crashAt,
    openedMs: incident.openedAt - crashAt,
    pagedMs: paged === undefined ? undefined : paged - crashAt,
    requestedMs: attempt.requestedAt - crashAt,
    healthyMs: healthyAt - crashAt,
    resolvedMs: (incident.resolvedAt ?? Number.NaN) - crashAt,
    commandMs: attempt.finishedAt === undefined ? undefined : attempt.finishedAt - attempt.requestedAt,
    attempts,
    incident: `${incident.id} ${incident.severity} ${incident.kind}`,
  };
}

/** Wraps the prober to see when each probe cycle starts (its first probe after a quiet spell). */
class CycleWatch implements Prober {
  cycles = 0;
  lastStart = 0;
  /** Every cycle's start, oldest first. */
  readonly starts: number[] = [];
  private lastCall = 0;

  constructor(private readonly inner: Prober) {}

  probe(target: Target, options: ProbeOptions): Promise<ProbeResult> {
    const now = Date.now();
    if (now - this.lastCall > 200) {
      this.cycles++;
      this.lastStart = now;
      this.starts.push(now);
    }
    this.lastCall = now;
    return this.inner.probe(target, options);
  }
}

async function allUp(runtime: LocalRuntime): Promise<boolean> {
  const ids = runtime.ctx.targets.map((t) => t.id);
  const states = await runtime.ctx.states.loadTargetStates(ids);
  return ids.every((id) => states.get(id)?.health === 'up');
}

/** When the service first answered /health healthy (HTTP 2xx, body not "unhealthy"), asking every `everyMs`. */
async function pollHealthy(
  spec: SimulatedFleetSpec,
  name: string,
  deadline: number,
  everyMs: number,
  signal: AbortSignal,
): Promise<number> {
  const service = spec.services.find((s) => s.name === name);
  if (!service) throw new Error(`no service ${name}`);
  for (;;) {
    const asked = Date.now();
    const answer = await request(service.port, 'GET', service.healthPath, undefined, everyMs * 4).catch(
      () => undefined,
    );
    const answeredAt = Date.now();
    if (answer && answer.status >= 200 && answer.status < 300 && !/"status"\s*:\s*"unhealthy"/.test(answer.body))
      return answeredAt;
    if (signal.aborted) throw new Error(`interrupted while waiting for ${name} to answer /health`);
    if (answeredAt > deadline) throw new Error(`${name} did not answer /health healthy again`);
    await sleep(Math.max(0, asked + everyMs - Date.now()));
  }
}

function waiter(signal: AbortSignal, everyMs: number) {
  return async <T>(what: string, timeoutMs: number, poll: () => Promise<T | undefined | false>): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal.aborted) throw new Error(`interrupted while waiting for ${what}`);
      const found = await poll();
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(everyMs);
    }
  };
}

// ---- report -----------------------------------------------------------------------------------------------------

function printRun(run: DrillRun, log: (line: string) => void): void {
  const { setup, trials } = run;
  const i = setup.probeEveryMs;
  const n = setup.failuresToDown;
  const m = setup.successesToUp;
  log(
    `\nprobe every ${s(i)}, failuresToDown ${n}, successesToUp ${m}: ${trials.length} crashes ` +
      `(${trials.map((t) => t.service).join(', ')}); incident ${trials[0]?.incident.replace(/^\S+ /, '') ?? '-'}`,
  );
  const detect: Window = [(n - 1) * i, n * i];
  const resolve: Window = [(n + m - 1) * i, (n + m) * i];
  const rows: [string, (t: DrillTrial) => number | undefined, Window | undefined][] = [
    ['(crash after its cycle began)', (t) => t.phaseMs, [0, i]],
    ['first failing probe', (t) => t.firstFailMs, [0, i]],
    ['detected (incident opened)', (t) => t.openedMs, detect],
    ['first page', (t) => t.pagedMs, detect],
    ['restart requested', (t) => t.requestedMs, detect],
    ['healthy again (/health)', (t) => t.healthyMs, undefined],
    ['resolved', (t) => t.resolvedMs, resolve],
    ['  opened -> restart requested', (t) => t.requestedMs - t.openedMs, undefined],
    ['  requested -> healthy', (t) => t.healthyMs - t.requestedMs, undefined],
    ['  healthy -> resolved', (t) => t.resolvedMs - t.healthyMs, [(m - 1) * i, m * i]],
    ['restart command (finished - requested)', (t) => t.commandMs, undefined],
    ['opened, after its probe cycle began', (t) => t.openLagMs, undefined],
    ['longest gap between probe cycles', (t) => t.maxGapMs, [i, i]],
  ];
  log(table(['after the crash', 'median', 'min', 'max', 'floor', 'window'], rows, trials));
  log(perTrial(trials));
  const late = trials.filter((t) => t.maxGapMs > i + 500);
  if (late.length > 0)
    log(
      `late probe cycles: ${late.map((t) => `${t.service} (gap ${s(t.maxGapMs)})`).join(', ')}; a missed tick ` +
        'adds the extra gap to every figure after it for that crash',
    );
  const extra = trials.filter((t) => t.attempts !== 1);
  if (extra.length > 0)
    log(`more than one restart attempt: ${extra.map((t) => `${t.service} (${t.attempts})`).join(', ')}`);
  log(
    `floor/window: detection (N-1)xI..NxI = ${s(detect[0])}..${s(detect[1])}; resolution (N+M-1)xI..(N+M)xI = ` +
      `${s(resolve[0])}..${s(resolve[1])} after the crash, (M-1)xI..MxI = ${s((m - 1) * i)}..${s(m * i)} after healthy`,
  );
}

type Window = readonly [number, number];

function table(
  header: readonly string[],
  rows: readonly [string, (t: DrillTrial) => number | undefined, Window | undefined][],
  trials: readonly DrillTrial[],
): string {
  const lines = rows.map(([label, pick, window]) => {
    const values = trials.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v));
    const sorted = [...values].sort((a, b) => a - b);
    return [
      label,
      s(median(sorted)),
      s(sorted[0]),
      s(sorted.at(-1)),
      window ? s(window[0]) : '-',
      window ? (window[0] === window[1] ? s(window[0]) : `${s(window[0])}..${s(window[1])}`) : '-',
    ];
  });
  const all = [header, ...lines];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '))
    .join('\n');
}

/** One line per crash, in seconds after it: the raw figures behind the medians. */
function perTrial(trials: readonly DrillTrial[]): string {
  const header = [
    'per crash',
    'phase',
    '1st fail',
    'opened',
    'paged',
    'restart',
    'healthy',
    'resolved',
    'command',
    'gap',
  ];
  const rows = trials.map((t) =>
    [
      t.service,
      t.phaseMs,
      t.firstFailMs,
      t.openedMs,
      t.pagedMs,
      t.requestedMs,
      t.healthyMs,
      t.resolvedMs,
      t.commandMs,
      t.maxGapMs,
    ].map((v) => (typeof v === 'string' ? v : s(v).replace(' s', ''))),
  );
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all
    .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  '))
    .join('\n');
}

function median(sorted: readonly number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** Seconds with two decimals. */
function s(ms: number | undefined): string {
  return ms === undefined || !Number.isFinite(ms) ? '-' : `${(ms / 1_000).toFixed(2)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await recoveryDrill();
}
