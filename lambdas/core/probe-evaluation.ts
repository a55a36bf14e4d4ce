import type { HttpTarget, PrometheusTarget, Target, TargetKind } from './targets.ts';

export type ProbeStatus = 'healthy' | 'degraded' | 'unhealthy';

/** Why a probe came out as it did. `ok` only for healthy results; every other result names its cause. */
export type ProbeReason =
  | 'ok'
  | 'refused'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'http-status'
  | 'body-status'
  | 'body-mismatch'
  | 'latency'
  | 'query'
  | 'threshold'
  | 'error';

export interface ProbeResult {
  readonly targetId: string;
  readonly name: string;
  readonly kind: TargetKind;
  readonly status: ProbeStatus;
  readonly reason: ProbeReason;
  /** One human sentence: what was seen. */
  readonly detail: string;
  readonly latencyMs: number;
  readonly httpStatus?: number;
  /** The number a Prometheus query returned. */
  readonly value?: number;
  readonly checkedAt: number;
}

/** What the network layer saw for an HTTP probe, before any judgement. */
export interface HttpObservation {
  readonly httpStatus: number;
  readonly body: string;
  readonly contentType?: string;
  readonly latencyMs: number;
}

const HEALTHY_WORDS = new Set(['healthy', 'ok', 'up', 'pass', 'passing', 'green', 'success']);
const DEGRADED_WORDS = new Set(['degraded', 'warn', 'warning', 'partial', 'yellow']);
const UNHEALTHY_WORDS = new Set(['unhealthy', 'down', 'fail', 'failed', 'failing', 'error', 'critical', 'red']);

type Verdict = Pick<ProbeResult, 'status' | 'reason' | 'detail'>;

/**
 * Judges an HTTP answer. HTTP 200 alone is not health: the body's status decides (raw `{"status": ...}` or the
 * `{"status": "success", "data": {"status": ...}}` envelope), then latency. A non-JSON 200 body is healthy unless
 * the target's conditions (expected status codes, a required substring) say otherwise.
 */
export function evaluateHttp(target: HttpTarget, seen: HttpObservation, slowAfterMs: number): Verdict {
  const expected = target.expectStatus;
  const statusOk = expected ? expected.includes(seen.httpStatus) : seen.httpStatus >= 200 && seen.httpStatus < 300;
  if (!statusOk) {
    const word = bodyStatusWord(seen.body);
    return {
      status: 'unhealthy',
      reason: 'http-status',
      detail: `HTTP ${seen.httpStatus}${expected ? ` (expected ${expected.join('/')})` : ''}${word ? `, body says "${word}"` : ''}`,
    };
  }
  if (target.bodyContains !== undefined && !seen.body.includes(target.bodyContains)) {
    return { status: 'unhealthy', reason: 'body-mismatch', detail: `body does not contain "${target.bodyContains}"` };
  }
  const word = bodyStatusWord(seen.body);
  if (word !== undefined) {
    const lower = word.toLowerCase();
    if (UNHEALTHY_WORDS.has(lower))
      return { status: 'unhealthy', reason: 'body-status', detail: `HTTP ${seen.httpStatus} but body says "${word}"` };
    if (DEGRADED_WORDS.has(lower))
      return { status: 'degraded', reason: 'body-status', detail: `HTTP ${seen.httpStatus} but body says "${word}"` };
    if (!HEALTHY_WORDS.has(lower))
      return { status: 'degraded', reason: 'body-status', detail: `body reports an unknown status "${word}"` };
  }
  if (seen.latencyMs > slowAfterMs) {
    return {
      status: 'degraded',
      reason: 'latency',
      detail: `answered in ${Math.round(seen.latencyMs)} ms, above the ${slowAfterMs} ms threshold`,
    };
  }
  return { status: 'healthy', reason: 'ok', detail: `HTTP ${seen.httpStatus}${word ? `, body says "${word}"` : ''}` };
}

/**
 * The status word of a health body, if it has one: `data.status` inside a `{"status":"success","data":{...}}`
 * envelope, else the top-level `status`. When both are present the worse one wins, so a raw body that says
 * `unhealthy` is never made healthy by a nested `data.status`. Undefined for non-JSON bodies and objects without
 * a status.
 */
export function bodyStatusWord(body: string): string | undefined {
  const trimmed = body.trimStart();
  if (!trimmed.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const outer = typeof parsed.status === 'string' ? parsed.status : undefined;
  const inner = isRecord(parsed.data) && typeof parsed.data.status === 'string' ? parsed.data.status : undefined;
  if (outer === undefined || inner === undefined) return inner ?? outer;
  return wordSeverity(outer) > wordSeverity(inner) ? outer : inner;
}

/** Healthy < unknown < degraded < unhealthy: an unknown word is treated as worse than a healthy one. */
function wordSeverity(word: string): number {
  const lower = word.toLowerCase();
  if (UNHEALTHY_WORDS.has(lower)) return 3;
  if (DEGRADED_WORDS.has(lower)) return 2;
  return HEALTHY_WORDS.has(lower) ? 0 : 1;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Judges the number a Prometheus query returned against the signal's threshold. */
export function evaluateMetric(target: PrometheusTarget, value: number | undefined): Verdict {
  if (value === undefined || Number.isNaN(value)) {
    return { status: 'unhealthy', reason: 'query', detail: 'query returned no value (no data for the series)' };
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (value > target.max) {
    return {
      status: 'degraded',
      reason: 'threshold',
      detail: `${target.signal} = ${shown}, above the threshold ${target.max}`,
    };
  }
  return { status: 'healthy', reason: 'ok', detail: `${target.signal} = ${shown} (threshold ${target.max})` };
}

/** Maps a Node.js network error code to a probe reason. */
export function reasonForErrorCode(code: string | undefined): ProbeReason {
  if (code === undefined) return 'error';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
    return 'refused';
  if (code === 'ETIMEDOUT' || code === 'ABORT_ERR' || code === 'UND_ERR_CONNECT_TIMEOUT') return 'timeout';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') return 'dns';
  // OpenSSL verification codes do not all mention CERT (UNABLE_TO_VERIFY_LEAF_SIGNATURE is the common one).
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('UNABLE_TO_') ||
    code.includes('CERT') ||
    code === 'EPROTO'
  )
    return 'tls';
  return 'error';
}

export type OverallHealth = 'healthy' | 'degraded' | 'critical';

export interface HealthSummary {
  readonly overall: OverallHealth;
  readonly servicesHealthy: number;
  readonly servicesTotal: number;
  /** Critical dependencies (the database...) that are unhealthy. */
  readonly criticalDown: readonly string[];
}

/**
 * Overall verdict of one snapshot: critical when half or fewer of the services are healthy or a critical
 * dependency is down; degraded when anything is not healthy; else healthy.
 */
export function summarizeHealth(targets: readonly Target[], results: readonly ProbeResult[]): HealthSummary {
  const byId = new Map(results.map((r) => [r.targetId, r]));
  const services = targets.filter((t) => t.role === 'service');
  const servicesHealthy = services.filter((t) => byId.get(t.id)?.status === 'healthy').length;
  const criticalDown = targets
    .filter((t) => t.role === 'dependency' && t.critical && byId.get(t.id)?.status !== 'healthy')
    .filter((t) => byId.get(t.id)?.status === 'unhealthy' || !byId.has(t.id))
    .map((t) => t.name);
  const anyUnwell = targets.some((t) => byId.get(t.id)?.status !== 'healthy');
  const overall: OverallHealth =
    criticalDown.length > 0 || (services.length > 0 && servicesHealthy * 2 <= services.length)
      ? 'critical'
      : anyUnwell
        ? 'degraded'
        : 'healthy';
  return { overall, servicesHealthy, servicesTotal: services.length, criticalDown };
}

export const EXIT_CODE: Record<OverallHealth, number> = { healthy: 0, degraded: 1, critical: 2 };
