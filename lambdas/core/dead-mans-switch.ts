import { hostScope } from './address-scope.ts';

/*
 * The dead man's switch: after every probe cycle the control plane pings a URL of an outside service (Healthchecks.io
 * or one speaking its ping API), which pages when the pings stop or report failure. The Healthchecks.io convention:
 * HEAD, GET or POST `<url>` signals success; `<url>/fail` signals failure; a POST body (first 100 kB) is kept in the
 * check's log, so each ping carries one short line saying what the cycle saw or why it failed.
 */

/** Longer reasons are cut: the log of the outside service is for a glance, the control plane's own log has the rest. */
export const MAX_PING_TEXT = 1_000;

/** What one probe cycle tells the outside service. */
export interface PingOutcome {
  readonly ok: boolean;
  /** One short line: what the cycle saw, or why it failed. */
  readonly text: string;
}

export interface PingRequest {
  readonly url: string;
  readonly method: 'POST';
  readonly body: string;
}

/**
 * Why `url` cannot be a ping URL, or undefined when it can: https://, or http:// to this host's loopback interface
 * only (a ping URL carries the check's secret uuid, which plain HTTP would show on the way). The message never
 * repeats the URL, for the same reason.
 */
export function pingUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry a user name or password';
  if (parsed.hash !== '') return 'must not have a #fragment';
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && hostScope(parsed.hostname).scope === 'loopback') return undefined;
  return 'must be an https:// URL (http:// only to this host: 127.0.0.1, ::1 or localhost)';
}

/** The ping for `outcome`: POST `<url>` with the line, or POST `<url>/fail` with the reason. */
export function pingRequest(url: string, outcome: PingOutcome): PingRequest {
  const target = new URL(url);
  if (!outcome.ok) target.pathname = `${target.pathname.replace(/\/+$/, '')}/fail`;
  return { url: target.toString(), method: 'POST', body: shortText(outcome.text) };
}

/** Where pings go, for log lines: the scheme and host only, never the path (the secret part). */
export function pingDestination(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'an unparsable URL';
  }
}

/** The success line of a probe cycle. */
export function cycleSucceeded(cycle: {
  readonly targets: number;
  readonly healthy: number;
  readonly openIncidents: number;
  readonly durationMs: number;
}): PingOutcome {
  return {
    ok: true,
    text:
      `probe cycle done: ${cycle.healthy}/${cycle.targets} targets healthy, ` +
      `${cycle.openIncidents} open incident(s), took ${Math.round(cycle.durationMs)} ms`,
  };
}

/** The failure of a probe cycle, with its reason. */
export function cycleFailed(reason: string): PingOutcome {
  return { ok: false, text: `probe cycle failed: ${reason}` };
}

function shortText(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= MAX_PING_TEXT ? oneLine : `${oneLine.slice(0, MAX_PING_TEXT - 3)}...`;
}
