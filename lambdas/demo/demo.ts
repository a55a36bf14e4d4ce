import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { LocalSecretSource } from '../adapters/local/local-secret-source.ts';
import { drillHeadline } from '../core/backup-drill.ts';
import { parseFleetConfig } from '../core/config.ts';
import { formatDuration } from '../core/duration.ts';
import { errorMessage } from '../core/errors.ts';
import { NOTICE_KINDS } from '../core/fleet-constants.ts';
import type { Incident } from '../core/incident.ts';
import { incidentMetrics } from '../core/incident.ts';
import type { NoticeBody } from '../core/notice-message.ts';
import { formatTable } from '../core/text-table.ts';
import { describeEntry } from '../core/timeline-wording.ts';
import { LocalDaemon } from '../local/daemon.ts';
import { type PostgresCluster, startPostgresCluster } from '../local/postgres-cluster.ts';
import { type LocalRuntime, openLocalRuntime } from '../local/runtime.ts';
import { systemClock } from '../ports.ts';
import { NetworkProber } from '../probes/network-prober.ts';
import { monitorBackups, runBackup, runDrill } from '../use-cases/backups.ts';
import { acknowledgeIncident, noteIncident } from '../use-cases/operator-actions.ts';
import { startAll } from '../use-cases/service-procedures.ts';
import { fleetConfigYaml } from './fleet-sim/config-text.ts';
import { planSimulatedFleet, type SimulatedFleetSpec } from './fleet-sim/plan.ts';
import { crash, setFault, setStartFailure, startFleet, stopFleet } from './fleet-sim/processes.ts';

export interface DemoOptions {
  readonly write: (text: string) => void;
  /** Aborted on Ctrl-C: the demo stops where it is and cleans up. */
  readonly signal: AbortSignal;
  /** Print pages and daemon events as they happen (default true). */
  readonly verbose?: boolean;
}

const OPERATOR = 'demo-operator';
const PG_PASSWORD_ENV = 'ACGS_DEMO_DB_PASSWORD';
const DEMO_DATABASE = 'acgs_pgp_db';
/** The lifecycle notices the console prints and the stakeholder channel (a JSON-lines file, no pages) is told. */
const LIFECYCLE = NOTICE_KINDS.filter((kind) => kind !== 'escalated' && kind !== 'test');
const STAKEHOLDER_FILE = 'updates.jsonl';

/** The demo's ACGS database: a few governance tables with rows, so a dump has something to prove. */
async function seedDemoDatabase(pg: PostgresCluster): Promise<void> {
  const psql = (db: string, sql: string) =>
    pg.runBinary(
      'psql',
      ['-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql],
      {
        PGPASSWORD: pg.password,
      },
    );
  await psql('postgres', `CREATE DATABASE ${DEMO_DATABASE}`);
  await psql(
    DEMO_DATABASE,
    `CREATE TABLE principles (id serial PRIMARY KEY, title text NOT NULL);
     INSERT INTO principles (title) SELECT 'principle ' || g FROM generate_series(1, 500) AS g;
     CREATE TABLE votes (id bigserial PRIMARY KEY, principle_id int REFERENCES principles (id), approve boolean);
     INSERT INTO votes (principle_id, approve) SELECT 1 + g % 500, g % 3 = 0 FROM generate_series(1, 5000) AS g;`,
  );
}

/** Adds a backups section (a local directory, a pgpass file, a drill) to the demo's generated config. */
async function withBackups(configText: string, pg: PostgresCluster, dir: string): Promise<string> {
  const pgpassFile = join(dir, 'pgpass');
  await writeFile(pgpassFile, `${pg.host}:${pg.port}:*:${pg.user}:${pg.password}\n`, { mode: 0o600 });
  const raw = parseYaml(configText) as Record<string, unknown>;
  raw.backups = {
    database: 'postgresql',
    localDirectory: join(dir, 'backups'),
    pgpassFile,
    maxAge: '26h',
    retention: { daily: 7, weekly: 4, monthly: 6 },
    drill: { scratchDatabase: 'acgs_restore_drill', maxAge: '8d' },
  };
  return stringifyYaml(raw);
}

/**
 * The control plane against a simulated ACGS-1 fleet of real processes (and a throwaway PostgreSQL when the
 * binaries are installed), playing four acts: a crash that is detected, paged, restarted and resolved; a slow
 * service that raises a P3; several services down at once, raising one P1 that escalates level by level until
 * acknowledged; and, with PostgreSQL, a real backup and restore drill. Returns the exit code: 0 when every act
 * ended as expected.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { write, signal } = options;
  const say = (text: string) => write(`\n== ${text}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'acgs-demo-'));
  const cleanups: (() => Promise<unknown>)[] = [async () => rm(dir, { recursive: true, force: true })];
  const started = Date.now();
  let failure: unknown;
  try {
    say('Starting a simulated ACGS-1 fleet (7 services as real processes)');
    let pg: PostgresCluster | undefined;
    try {
      pg = await startPostgresCluster();
      const cluster = pg;
      cleanups.unshift(() => cluster.stop());
      write(`PostgreSQL: throwaway cluster on ${pg.host}:${pg.port}; the services depend on it\n`);
    } catch (error) {
      write(`PostgreSQL: not available here, running without a database check (${firstLine(error)})\n`);
    }
    if (pg) await seedDemoDatabase(pg);
    const spec = await planSimulatedFleet({ dir, watchPid: process.pid });
    cleanups.unshift(() => stopFleet(spec));
    const configText = fleetConfigYaml(spec, {
      probeEvery: '1s',
      escalationSweepEvery: '1s',
      probeTimeout: '1s',
      probeLatency: '400ms',
      restartTimeout: '30s',
      repeatEvery: '20s',
      breaker: { maxRestarts: 2, window: '5m' },
      consoleEvents: LIFECYCLE,
      extraChannels: [{ name: 'stakeholders', kind: 'jsonl', path: STAKEHOLDER_FILE, pages: false, events: LIFECYCLE }],
      levelResponseTimes: [
        { P1: '8s', P2: '20s', P3: '30s' },
        { P1: '8s', P2: '20s', P3: '30s' },
        { P1: '8s', P2: '20s' },
        { P1: '8s' },
      ],
      ...(pg
        ? {
            postgres: {
              host: pg.host,
              port: pg.port,
              database: DEMO_DATABASE,
              user: pg.user,
              passwordEnv: PG_PASSWORD_ENV,
            },
          }
        : {}),
    });
    const configFile = join(dir, 'acgs-1-demo.yaml');
    const fullText = pg ? await withBackups(configText, pg, dir) : configText;
    await writeFile(configFile, fullText);
    const parsed = parseFleetConfig(fullText);
    if (!parsed.ok) throw new Error(`demo config is invalid: ${JSON.stringify(parsed.problems)}`);
    const config = parsed.config;
    await startFleet(spec);
    write(
      `services: ${spec.services.map((s) => `${s.name}:${s.port}`).join(' ')}\nconfig: ${configFile}\nstate: ${join(dir, 'state')}\n`,
    );

    const env = { ...process.env, ...(pg ? { [PG_PASSWORD_ENV]: pg.password } : {}) };
    const runtime = openLocalRuntime({
      config,
      stateDir: join(dir, 'state'),
      env,
      write: options.verbose === false ? () => {} : (text) => write(indent(text)),
      ...(pg ? { pgBinDir: pg.binDir } : {}),
    });
    const daemon = new LocalDaemon(runtime, new NetworkProber(systemClock, new LocalSecretSource(env)));
    cleanups.unshift(() => daemon.stop());
    await daemon.start();
    const until = waiter(runtime, signal);

    say('Waiting for every target to be healthy');
    await until('all targets up', 20_000, async () => {
      const states = await runtime.ctx.states.loadTargetStates(runtime.ctx.targets.map((t) => t.id));
      return runtime.ctx.targets.every((t) => states.get(t.id)?.health === 'up');
    });

    say('Act 1: auth crashes. Expect: detected, P2 paged to level 1, restarted, resolved');
    await crash(spec, 'auth');
    const act1 = await until('auth incident resolved', 40_000, () =>
      resolvedIncident(runtime, (i) => i.services.includes('auth')),
    );
    await printIncident(runtime, act1, write);

    say('Act 2: gs turns slow (900 ms > 400 ms threshold). Expect: a P3 performance incident, paged to the primary');
    await setFault(spec, 'gs', 'slow', 900);
    const act2 = await until('P3 for gs', 30_000, () =>
      openIncident(runtime, (i) => i.services.includes('gs') && i.severity === 'P3'),
    );
    await setFault(spec, 'gs', 'healthy');
    await until('gs incident resolved', 30_000, () => resolvedIncident(runtime, (i) => i.id === act2.id));
    await printIncident(runtime, act2, write);

    const victims = ['ac', 'fv', 'pgc', 'ec'];
    say(`Act 3: ${victims.join(', ')} go down and will not restart. Expect: ONE P1, all teams paged, breaker, level 4`);
    for (const name of victims) await setStartFailure(spec, name, true);
    await Promise.all(victims.map((name) => crash(spec, name)));
    const outage = await until('one P1 fleet outage', 30_000, () =>
      openIncident(runtime, (i) => i.kind === 'fleet-outage'),
    );
    await until('escalation to level 4 (Executive)', 60_000, async () => {
      const current = await runtime.ctx.incidents.getIncident(outage.id);
      return current && current.escalation.level >= 4 ? current : undefined;
    });
    const open = await runtime.ctx.incidents.listOpenIncidents();
    if (open.length !== 1) throw new Error(`expected exactly one open incident, found ${open.length}`);
    write(`${OPERATOR}: acgs-ops incident ack ${outage.id}\n`);
    await acknowledgeIncident(runtime.ctx, outage.id, OPERATOR, 'start failures found, fixing');
    const update = `${victims.join(', ')} fail to start (a bad start command); fixing it and starting them again`;
    write(`${OPERATOR}: acgs-ops incident note ${outage.id} "${update}"\n`);
    await noteIncident(runtime.ctx, outage.id, OPERATOR, update);
    for (const name of victims) await setStartFailure(spec, name, false);
    write(`${OPERATOR}: start all (SSM document acgs-start-all)\n`);
    const { result: startedAll } = await startAll(runtime.ctx, { services: victims, timeoutSeconds: 15 });
    write(indent(`acgs-start-all ${startedAll.status}: ${lastLine(startedAll.output)}\n`));
    if (startedAll.status !== 'succeeded') throw new Error(`start-all ${startedAll.status}: ${startedAll.output}`);
    await until('P1 resolved', 30_000, () => resolvedIncident(runtime, (i) => i.id === outage.id));
    await printIncident(runtime, outage, write);
    const stakeholderFile = join(runtime.stateDir, STAKEHOLDER_FILE);
    await until('the P1 resolve told to stakeholders', 10_000, async () =>
      (await readNotices(stakeholderFile)).some((n) => n.event === 'resolved' && n.incident?.id === outage.id),
    );

    if (runtime.backups) {
      say(
        'Act 4: backups. Expect: a pg_dump judged by its content and published, then a restore drill measuring RTO/RPO',
      );
      const backup = await runBackup(runtime.ctx, runtime.backups);
      write(indent(`acgs-backup-database ${backup.result.status}: ${lastLine(backup.result.output).slice(0, 200)}\n`));
      if (backup.result.status !== 'succeeded')
        throw new Error(`backup ${backup.result.status}: ${backup.result.output}`);
      const drill = await runDrill(runtime.ctx, runtime.backups);
      if (!drill.judgement) throw new Error(`restore drill ${drill.result.status}: ${drill.result.output}`);
      write(`restore drill: ${drillHeadline(drill.judgement)}\n`);
      for (const reason of drill.judgement.reasons) write(`  ${reason}\n`);
      const judged = await monitorBackups(runtime.ctx, runtime.backups.objects);
      write(
        `backups: ${judged.status}; newest good backup ${judged.newestGood?.id} (${judged.newestGood?.sizeBytes} bytes)\n`,
      );
      write("  (a daily dump gives an RPO of up to 24 h: the runbook's 15 min needs WAL archiving)\n");
    } else {
      say('Act 4 (backups) skipped: PostgreSQL 15 server binaries are not installed here');
    }

    await daemon.settled();
    say(`What the stakeholder channel (${STAKEHOLDER_FILE}, no pages) was told`);
    write(stakeholderTable(await readNotices(join(runtime.stateDir, STAKEHOLDER_FILE))));
    const all = (await runtime.ctx.incidents.listIncidents({})).reverse();
    say(`Summary (${formatDuration(Date.now() - started)})`);
    write(summaryTable(all, runtime.ctx.clock.now()));
    return 0;
  } catch (error) {
    failure = error;
    write(`\ndemo ${signal.aborted ? 'interrupted' : 'FAILED'}: ${errorMessage(error)}\n`);
    return signal.aborted ? 130 : 1;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch((e: unknown) => write(`cleanup: ${firstLine(e)}\n`));
    write(failure ? '' : 'cleaned up: daemon stopped, simulated services and PostgreSQL stopped, temp dir removed\n');
  }
}

type Poll<T> = () => Promise<T | undefined | false>;

function waiter(runtime: LocalRuntime, signal: AbortSignal) {
  return async <T>(what: string, timeoutMs: number, poll: Poll<T>): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal.aborted) throw new Error(`interrupted while waiting for: ${what}`);
      const found = await poll();
      if (found) return found;
      if (Date.now() > deadline) {
        const open = await runtime.ctx.incidents.listOpenIncidents();
        throw new Error(
          `timed out after ${formatDuration(timeoutMs)} waiting for: ${what} (open: ${open.map((i) => i.title).join('; ') || 'none'})`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  };
}

async function openIncident(runtime: LocalRuntime, match: (i: Incident) => boolean): Promise<Incident | undefined> {
  return (await runtime.ctx.incidents.listOpenIncidents()).find(match);
}

async function resolvedIncident(runtime: LocalRuntime, match: (i: Incident) => boolean): Promise<Incident | undefined> {
  return (await runtime.ctx.incidents.listIncidents({ limit: 50 })).find((i) => i.status === 'resolved' && match(i));
}

async function printIncident(runtime: LocalRuntime, incident: Incident, write: (text: string) => void): Promise<void> {
  const current = (await runtime.ctx.incidents.getIncident(incident.id)) ?? incident;
  const timeline = await runtime.ctx.incidents.getTimeline(incident.id);
  const m = incidentMetrics(current, runtime.ctx.clock.now());
  write(`\n${current.id} ${current.severity} ${current.status}: ${current.title}\n`);
  const t0 = current.failingSince;
  for (const e of timeline) write(`  +${formatDuration(e.at - t0).padEnd(8)} ${describeEntry(e)}\n`);
  write(
    `  MTTD ${formatDuration(m.mttdMs)}, MTTA ${m.mttaMs === undefined ? '-' : formatDuration(m.mttaMs)}, MTTR ${m.mttrMs === undefined ? '-' : formatDuration(m.mttrMs)}, SLA ${m.slaMet === undefined ? 'pending' : m.slaMet ? 'met' : 'breached'}\n`,
  );
}

function summaryTable(incidents: readonly Incident[], now: number): string {
  const rows = incidents.map((i) => {
    const m = incidentMetrics(i, now);
    return [
      i.id,
      i.severity,
      i.title.slice(0, 48),
      formatDuration(m.mttdMs),
      m.mttaMs === undefined ? '-' : formatDuration(m.mttaMs),
      m.mttrMs === undefined ? '-' : formatDuration(m.mttrMs),
      String(i.escalation.pages),
      i.resolution ? i.resolution.slice(0, 40) : i.status,
    ];
  });
  return formatTable(['INCIDENT', 'SEV', 'TITLE', 'MTTD', 'MTTA', 'MTTR', 'PAGES', 'RESOLUTION'], rows);
}

/** The notices a JSON-lines channel wrote, oldest first (none before the first). */
async function readNotices(file: string): Promise<NoticeBody[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as NoticeBody);
}

function stakeholderTable(notices: readonly NoticeBody[]): string {
  const rows = notices.map((n) => [
    n.at.slice(11, 19),
    n.event,
    n.incident?.id ?? n.window?.id ?? '-',
    n.summary.slice(0, 90),
  ]);
  return formatTable(['AT', 'EVENT', 'INCIDENT', 'WHAT THEY READ'], rows);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `   | ${line}`))
    .join('\n');
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function firstLine(error: unknown): string {
  return errorMessage(error).split('\n')[0] ?? '';
}

export type { SimulatedFleetSpec };
