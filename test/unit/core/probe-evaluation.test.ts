import { describe, expect, it } from 'vitest';
import {
  bodyStatusWord,
  EXIT_CODE,
  evaluateHttp,
  evaluateMetric,
  type ProbeResult,
  type ProbeStatus,
  reasonForErrorCode,
  summarizeHealth,
} from '../../../lambdas/core/probe-evaluation.ts';
import type { HttpTarget, PrometheusTarget, Target } from '../../../lambdas/core/targets.ts';

const SLOW_AFTER_MS = 500;

function httpTarget(overrides: Partial<HttpTarget> = {}): HttpTarget {
  return {
    id: 'pgc:health@127.0.0.1',
    name: 'pgc',
    kind: 'http',
    host: '127.0.0.1',
    critical: true,
    service: 'pgc',
    role: 'service',
    url: 'http://127.0.0.1:8005/health',
    ...overrides,
  };
}

function answer(httpStatus: number, body: unknown, latencyMs = 20) {
  return { httpStatus, body: typeof body === 'string' ? body : JSON.stringify(body), latencyMs };
}

describe('evaluateHttp', () => {
  it('is healthy when a 200 carries a raw healthy body', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'healthy', service: 'auth' }), SLOW_AFTER_MS);
    // Assess
    expect(verdict).toEqual({ status: 'healthy', reason: 'ok', detail: 'HTTP 200, body says "healthy"' });
  });

  it('reads the inner status when the body is a success envelope', () => {
    // Prepare
    const healthy = answer(200, { status: 'success', data: { status: 'healthy' }, metadata: { v: 1 } });
    const degraded = answer(200, { status: 'success', data: { status: 'degraded' } });
    // Act
    const healthyVerdict = evaluateHttp(httpTarget(), healthy, SLOW_AFTER_MS);
    const degradedVerdict = evaluateHttp(httpTarget(), degraded, SLOW_AFTER_MS);
    // Assess
    expect(healthyVerdict.status).toBe('healthy');
    expect(degradedVerdict).toMatchObject({ status: 'degraded', reason: 'body-status' });
  });

  it('is degraded with reason body-status when a 200 body says degraded (PGC)', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'degraded' }), SLOW_AFTER_MS);
    // Assess
    expect(verdict).toEqual({ status: 'degraded', reason: 'body-status', detail: 'HTTP 200 but body says "degraded"' });
  });

  it('is unhealthy with reason body-status when a 200 body says unhealthy', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'unhealthy' }), SLOW_AFTER_MS);
    // Assess
    expect(verdict).toMatchObject({ status: 'unhealthy', reason: 'body-status' });
  });

  it('keeps a worse top-level status when a nested data.status says ok', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'unhealthy', data: { status: 'ok' } }), 500);
    // Assess
    expect(verdict).toMatchObject({ status: 'unhealthy', reason: 'body-status' });
    expect(bodyStatusWord(JSON.stringify({ status: 'unhealthy', data: { status: 'ok' } }))).toBe('unhealthy');
  });

  it('is unhealthy with reason http-status when the service answers 500', () => {
    // Act
    const verdict = evaluateHttp(
      httpTarget(),
      answer(500, { detail: 'response model validation failed' }),
      SLOW_AFTER_MS,
    );
    // Assess
    expect(verdict).toEqual({ status: 'unhealthy', reason: 'http-status', detail: 'HTTP 500' });
  });

  it('names the body status of a failed answer when it has one', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(503, { status: 'unhealthy' }), SLOW_AFTER_MS);
    // Assess
    expect(verdict.detail).toBe('HTTP 503, body says "unhealthy"');
  });

  it('is healthy when a 200 body is plain text', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, 'OK\n'), SLOW_AFTER_MS);
    // Assess
    expect(verdict).toEqual({ status: 'healthy', reason: 'ok', detail: 'HTTP 200' });
  });

  it('is healthy when a 200 body is broken JSON', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, '{"status": "healthy"'), SLOW_AFTER_MS);
    // Assess
    expect(verdict.status).toBe('healthy');
  });

  it('is degraded when the body reports a status word it does not know', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'starting' }), SLOW_AFTER_MS);
    // Assess
    expect(verdict).toEqual({
      status: 'degraded',
      reason: 'body-status',
      detail: 'body reports an unknown status "starting"',
    });
  });

  it('matches status words regardless of case', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'DEGRADED' }), SLOW_AFTER_MS);
    // Assess
    expect(verdict.status).toBe('degraded');
  });

  it('is degraded with reason latency when a healthy answer is slower than the threshold', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'healthy' }, 640), SLOW_AFTER_MS);
    // Assess
    expect(verdict).toEqual({
      status: 'degraded',
      reason: 'latency',
      detail: 'answered in 640 ms, above the 500 ms threshold',
    });
  });

  it('is healthy when the latency equals the threshold', () => {
    // Act
    const verdict = evaluateHttp(httpTarget(), answer(200, { status: 'healthy' }, 500), SLOW_AFTER_MS);
    // Assess
    expect(verdict.status).toBe('healthy');
  });

  it('accepts only the listed codes when expectStatus is set', () => {
    // Prepare
    const target = httpTarget({ expectStatus: [200, 401] });
    // Act
    const unauthorized = evaluateHttp(target, answer(401, 'login required'), SLOW_AFTER_MS);
    const noContent = evaluateHttp(target, answer(204, ''), SLOW_AFTER_MS);
    // Assess
    expect(unauthorized.status).toBe('healthy');
    expect(noContent).toEqual({ status: 'unhealthy', reason: 'http-status', detail: 'HTTP 204 (expected 200/401)' });
  });

  it('is unhealthy with reason body-mismatch when bodyContains is missing from the body', () => {
    // Prepare
    const target = httpTarget({ bodyContains: 'Statistics Report' });
    // Act
    const missing = evaluateHttp(target, answer(200, '<html>login</html>'), SLOW_AFTER_MS);
    const present = evaluateHttp(target, answer(200, '<h1>Statistics Report for HAProxy</h1>'), SLOW_AFTER_MS);
    // Assess
    expect(missing).toEqual({
      status: 'unhealthy',
      reason: 'body-mismatch',
      detail: 'body does not contain "Statistics Report"',
    });
    expect(present.status).toBe('healthy');
  });
});

describe('evaluateMetric', () => {
  const target: PrometheusTarget = {
    id: 'fleet-latency-p95:latencyP95Ms@127.0.0.1',
    name: 'fleet-latency-p95',
    kind: 'prometheus',
    host: '127.0.0.1',
    critical: false,
    role: 'metric',
    url: 'http://127.0.0.1:9090',
    query: 'p95',
    signal: 'latencyP95Ms',
    max: 500,
  };

  it('is healthy when the value is at or below the threshold', () => {
    // Act
    const verdict = evaluateMetric(target, 500);
    // Assess
    expect(verdict).toEqual({ status: 'healthy', reason: 'ok', detail: 'latencyP95Ms = 500 (threshold 500)' });
  });

  it('is degraded with reason threshold when the value is above the threshold', () => {
    // Act
    const verdict = evaluateMetric(target, 612.345);
    // Assess
    expect(verdict).toEqual({
      status: 'degraded',
      reason: 'threshold',
      detail: 'latencyP95Ms = 612.35, above the threshold 500',
    });
  });

  it('is unhealthy with reason query when there is no value', () => {
    // Act
    const missing = evaluateMetric(target, undefined);
    const notANumber = evaluateMetric(target, Number.NaN);
    // Assess
    expect(missing).toMatchObject({ status: 'unhealthy', reason: 'query' });
    expect(notANumber).toMatchObject({ status: 'unhealthy', reason: 'query' });
  });
});

describe('reasonForErrorCode', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ECONNRESET', 'refused'],
    ['EHOSTUNREACH', 'refused'],
    ['ETIMEDOUT', 'timeout'],
    ['ABORT_ERR', 'timeout'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['EAI_FAIL', 'dns'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls'],
    ['EPROTO', 'tls'],
    ['EPIPE', 'error'],
    [undefined, 'error'],
  ] as const)('maps %s to %s', (code, reason) => {
    // Act + Assess
    expect(reasonForErrorCode(code)).toBe(reason);
  });
});

describe('summarizeHealth', () => {
  const service = (name: string): Target => ({
    id: `${name}:health@h`,
    name,
    kind: 'http',
    host: 'h',
    critical: true,
    service: name,
    role: 'service',
    url: `http://h/${name}`,
  });
  const dependency = (name: string, critical: boolean): Target => ({
    id: `${name}:tcp@h`,
    name,
    kind: 'tcp',
    host: 'h',
    critical,
    role: 'dependency',
    port: 1,
  });
  const result = (target: Target, status: ProbeStatus): ProbeResult => ({
    targetId: target.id,
    name: target.name,
    kind: target.kind,
    status,
    reason: status === 'healthy' ? 'ok' : 'refused',
    detail: '',
    latencyMs: 1,
    checkedAt: 0,
  });
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(service) as [Target, Target, Target, Target];
  const db = dependency('db', true);
  const cache = dependency('cache', false);
  const fleet = [a, b, c, d, db, cache];

  it('is healthy with exit code 0 when every target is healthy', () => {
    // Act
    const summary = summarizeHealth(
      fleet,
      fleet.map((t) => result(t, 'healthy')),
    );
    // Assess
    expect(summary).toEqual({ overall: 'healthy', servicesHealthy: 4, servicesTotal: 4, criticalDown: [] });
    expect(EXIT_CODE[summary.overall]).toBe(0);
  });

  it('is degraded with exit code 1 when a non-critical dependency is down and most services are healthy', () => {
    // Act
    const summary = summarizeHealth(fleet, [
      ...[a, b, c, d, db].map((t) => result(t, 'healthy')),
      result(cache, 'unhealthy'),
    ]);
    // Assess
    expect(summary.overall).toBe('degraded');
    expect(EXIT_CODE[summary.overall]).toBe(1);
  });

  it('is degraded when one service of four is degraded', () => {
    // Act
    const summary = summarizeHealth(fleet, [
      result(a, 'degraded'),
      ...[b, c, d, db, cache].map((t) => result(t, 'healthy')),
    ]);
    // Assess
    expect(summary).toMatchObject({ overall: 'degraded', servicesHealthy: 3 });
  });

  it('is critical with exit code 2 when a critical dependency is down', () => {
    // Act
    const summary = summarizeHealth(fleet, [
      ...[a, b, c, d, cache].map((t) => result(t, 'healthy')),
      result(db, 'unhealthy'),
    ]);
    // Assess
    expect(summary).toMatchObject({ overall: 'critical', criticalDown: ['db'] });
    expect(EXIT_CODE[summary.overall]).toBe(2);
  });

  it('does not count a degraded critical dependency as down', () => {
    // Act
    const summary = summarizeHealth(fleet, [
      ...[a, b, c, d, cache].map((t) => result(t, 'healthy')),
      result(db, 'degraded'),
    ]);
    // Assess
    expect(summary).toMatchObject({ overall: 'degraded', criticalDown: [] });
  });

  it('is critical when half or fewer of the services are healthy', () => {
    // Act
    const half = summarizeHealth(fleet, [
      result(a, 'unhealthy'),
      result(b, 'degraded'),
      ...[c, d, db, cache].map((t) => result(t, 'healthy')),
    ]);
    const threeOfFour = summarizeHealth(fleet, [
      result(a, 'unhealthy'),
      ...[b, c, d, db, cache].map((t) => result(t, 'healthy')),
    ]);
    // Assess
    expect(half.overall).toBe('critical');
    expect(threeOfFour.overall).toBe('degraded');
  });

  it('treats a target without a result as not healthy and a critical dependency without one as down', () => {
    // Act
    const summary = summarizeHealth(
      fleet,
      [a, b, c, d].map((t) => result(t, 'healthy')),
    );
    // Assess
    expect(summary).toMatchObject({ overall: 'critical', criticalDown: ['db'] });
  });
});
