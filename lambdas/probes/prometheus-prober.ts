import { evaluateMetric } from '../core/probe-evaluation.ts';
import type { PrometheusTarget } from '../core/targets.ts';
import { httpGet } from './http-prober.ts';
import type { ProbeOutcome, ProbeRequest } from './probe-outcome.ts';

/** Runs the target's PromQL as an instant query and judges the one number it returns against the threshold. */
export async function probePrometheus(target: PrometheusTarget, request: ProbeRequest): Promise<ProbeOutcome> {
  const url = queryUrl(target);
  const seen = await httpGet(url, request.signal);
  const base = { latencyMs: seen.latencyMs, httpStatus: seen.httpStatus };
  const answer = parseQueryAnswer(seen.body);

  if (seen.httpStatus < 200 || seen.httpStatus >= 300) {
    // Prometheus answers 400/422 with {"status":"error","error":...} for a bad query.
    return answer.kind === 'error'
      ? { status: 'unhealthy', reason: 'query', detail: `Prometheus rejected the query: ${answer.message}`, ...base }
      : { status: 'unhealthy', reason: 'http-status', detail: `${url.host} answered HTTP ${seen.httpStatus}`, ...base };
  }
  switch (answer.kind) {
    case 'error':
      return {
        status: 'unhealthy',
        reason: 'query',
        detail: `Prometheus rejected the query: ${answer.message}`,
        ...base,
      };
    case 'unreadable':
      return { status: 'unhealthy', reason: 'body-mismatch', detail: `${url.host} ${answer.message}`, ...base };
    case 'values': {
      // Several series: judge the worst one, and say so.
      const value = answer.values.length === 0 ? undefined : Math.max(...answer.values);
      const verdict = evaluateMetric(target, value);
      const note = answer.values.length > 1 ? ` (highest of ${answer.values.length} series)` : '';
      return { ...verdict, detail: `${verdict.detail}${note}`, ...base, ...(value === undefined ? {} : { value }) };
    }
  }
}

function queryUrl(target: PrometheusTarget): URL {
  const base = target.url.endsWith('/') ? target.url : `${target.url}/`;
  const url = new URL('api/v1/query', base);
  url.searchParams.set('query', target.query);
  return url;
}

type QueryAnswer =
  | { readonly kind: 'values'; readonly values: readonly number[] }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'unreadable'; readonly message: string };

/** Reads `{"status":"success","data":{"resultType":"vector"|"scalar","result":...}}`. */
export function parseQueryAnswer(body: string): QueryAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'unreadable', message: 'answered with a body that is not JSON (is this a Prometheus URL?)' };
  }
  if (!isRecord(parsed)) return { kind: 'unreadable', message: 'answered with JSON that is not an object' };
  if (parsed.status === 'error') {
    const message = typeof parsed.error === 'string' ? parsed.error : 'no error message';
    return {
      kind: 'error',
      message: typeof parsed.errorType === 'string' ? `${parsed.errorType}: ${message}` : message,
    };
  }
  const data = parsed.data;
  if (parsed.status !== 'success' || !isRecord(data)) {
    return { kind: 'unreadable', message: 'answered without a "success" status and a data object' };
  }
  if (data.resultType === 'scalar') {
    const value = sampleValue(data.result);
    return value === undefined
      ? { kind: 'unreadable', message: 'answered a scalar without a readable value' }
      : { kind: 'values', values: [value] };
  }
  if (data.resultType === 'vector' && Array.isArray(data.result)) {
    const values: number[] = [];
    for (const series of data.result) {
      const value = isRecord(series) ? sampleValue(series.value) : undefined;
      if (value === undefined) return { kind: 'unreadable', message: 'answered a vector sample without a value' };
      values.push(value);
    }
    return { kind: 'values', values: values.filter((v) => !Number.isNaN(v)) };
  }
  return {
    kind: 'error',
    message: `the query returns a ${String(data.resultType)}; write an instant query that returns one number`,
  };
}

/** A sample is `[<unix time>, "<value>"]`; Prometheus writes infinities as `+Inf`/`-Inf`. */
function sampleValue(sample: unknown): number | undefined {
  if (!Array.isArray(sample) || typeof sample[1] !== 'string') return undefined;
  const text = sample[1];
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  return text.trim() === '' ? undefined : value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
