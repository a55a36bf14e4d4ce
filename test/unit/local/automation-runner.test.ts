import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  type AutomationDocument,
  type ParameterValue,
  parseAutomationDocument,
  placeRunbook,
  resolveParameters,
} from '../../../lambdas/core/automation-document.ts';
import {
  type InvokeFunction,
  OperatorApiStepError,
  operatorApiInvoker,
  runAutomation,
  select,
} from '../../../lambdas/local/automation-runner.ts';
import { createHarness, ManualClock } from '../../support/harness.ts';

const SEVEN = ['auth', 'ac', 'integrity', 'fv', 'gs', 'pgc', 'ec'];
const EXECUTION = '0a1b2c3d-0000-4000-8000-000000000001';

function runbook(name: string, services = SEVEN): AutomationDocument {
  const text = readFileSync(new URL(`../../../ssm-documents/automation/${name}.yaml`, import.meta.url), 'utf8');
  const parsed = parseAutomationDocument(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return placeRunbook(parsed.document, { services });
}

function params(doc: AutomationDocument, given: Record<string, string> = {}): Record<string, ParameterValue> {
  const resolved = resolveParameters(doc, given);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.errors));
  return { ...resolved.values };
}

interface Call {
  readonly method: string;
  readonly path: string;
  readonly body?: Record<string, unknown>;
}

/** A fake operator API: records each call and answers by `answer` (200 with a succeeded procedure by default). */
function fakeApi(answer: (call: Call) => { statusCode: number; body: unknown } | undefined = () => undefined) {
  const calls: Call[] = [];
  const invoke: InvokeFunction = async (functionName, payload) => {
    expect(functionName).toBe('acgs-operator-api');
    const p = payload as Call & { automation: { executionId: string } };
    expect(p.automation.executionId).toBe(EXECUTION);
    const call = { method: p.method, path: p.path, ...(p.body === undefined ? {} : { body: p.body }) };
    calls.push(call);
    const response = answer(call) ?? {
      statusCode: 200,
      body: {
        procedure: 'x',
        status: 'succeeded',
        services: [],
        ...(call.path.endsWith('stop-all') ? { window: { id: 'mw-abc', subjects: ['*'], until: 'later' } } : {}),
      },
    };
    if (response.statusCode >= 400) throw new OperatorApiStepError(response.statusCode, response.body);
    return response;
  };
  return { calls, invoke, lines: () => calls.map((c) => `${c.method} ${c.path}`) };
}

function run(doc: AutomationDocument, name: string, invoke: InvokeFunction, given: Record<string, string> = {}) {
  const clock = new ManualClock();
  const slept: number[] = [];
  return {
    slept,
    result: runAutomation({
      document: doc,
      documentName: name,
      parameters: params(doc, given),
      invoke,
      clock,
      executionId: EXECUTION,
      sleep: async (ms) => {
        slept.push(ms);
        clock.advance(ms);
      },
    }),
  };
}

describe('runAutomation on the runbook files', () => {
  it('emergency stop-all stops the fleet, keeps the window and reads the fleet state', async () => {
    const api = fakeApi();
    const report = await run(runbook('acgs-emergency-stop-all'), 'acgs-emergency-stop-all', api.invoke).result;
    expect(api.lines()).toEqual(['POST /fleet/stop-all', 'GET /services']);
    expect(api.calls[0]?.body).toEqual({ windowMinutes: 60 });
    expect(report.status).toBe('Success');
    expect(report.outputs).toMatchObject({ 'stopAll.Status': 'succeeded', 'stopAll.WindowId': 'mw-abc' });
    expect(report.steps.map((s) => `${s.name} ${s.status}`)).toEqual(['stopAll Success', 'fleetState Success']);
  });

  it('emergency stop-all that fails declares a P1, never ends the window, and fails', async () => {
    const api = fakeApi((c) =>
      c.path === '/fleet/stop-all'
        ? { statusCode: 502, body: { status: 'failed', error: 'gs did not stop' } }
        : undefined,
    );
    const report = await run(runbook('acgs-emergency-stop-all'), 'acgs-emergency-stop-all', api.invoke).result;
    expect(api.lines()).toEqual(['POST /fleet/stop-all', 'POST /incidents', 'GET /services']);
    expect(api.calls[1]?.body).toMatchObject({ type: 'manual', severity: 'P1' });
    expect(String(api.calls[1]?.body?.title)).toContain('maintenance window stays open');
    expect(report.status).toBe('Failed');
    expect(report.failure).toBe('stopAll: the operator API answered 502: gs did not stop');
    expect(report.steps[0]).toMatchObject({
      name: 'stopAll',
      status: 'Failed',
      outputs: { FunctionError: 'Unhandled' },
    });
  });

  it('emergency restart-all starts each service in order, waits for each, then ends the window', async () => {
    const api = fakeApi();
    const report = await run(runbook('acgs-emergency-restart-all'), 'acgs-emergency-restart-all', api.invoke).result;
    expect(api.lines()).toEqual([
      'POST /fleet/stop-all',
      ...SEVEN.flatMap((s) => [`POST /services/${s}/start`, 'POST /health/wait']),
      'POST /maintenance/mw-abc/end',
      'GET /services',
    ]);
    expect(api.calls[2]?.body).toEqual({ services: ['auth'], timeoutSeconds: 240 });
    expect(report.status).toBe('Success');
    expect(report.steps.filter((s) => s.name === 'startEach.waitHealthy').map((s) => s.iteratorValue)).toEqual(SEVEN);
  });

  it('emergency restart-all stops at the service that does not come back and declares a P1 naming it', async () => {
    const api = fakeApi((c) =>
      c.path === '/health/wait' && (c.body?.services as string[] | undefined)?.[0] === 'integrity'
        ? { statusCode: 503, body: { healthy: false, unhealthy: [{ service: 'integrity', state: 'down' }] } }
        : undefined,
    );
    const report = await run(runbook('acgs-emergency-restart-all'), 'acgs-emergency-restart-all', api.invoke).result;
    expect(api.lines()).toEqual([
      'POST /fleet/stop-all',
      'POST /services/auth/start',
      'POST /health/wait',
      'POST /services/ac/start',
      'POST /health/wait',
      'POST /services/integrity/start',
      'POST /health/wait',
      'POST /incidents',
      'POST /maintenance/mw-abc/end',
      'GET /services',
    ]);
    expect(api.calls[7]?.body).toEqual({
      type: 'manual',
      severity: 'P1',
      title: 'Emergency restart-all: integrity did not come back healthy, the services after it were not started',
      services: ['integrity'],
    });
    expect(report.status).toBe('Failed');
    expect(report.failure).toMatch(/^startEach\.waitHealthy: the operator API answered 503/);
    expect(report.outputs['startEach.CurrentIteratorValue']).toBe('integrity');
  });

  it('release without StartService goes straight to the state (aws:branch Default)', async () => {
    const api = fakeApi();
    const doc = runbook('acgs-release-service');
    const report = await run(doc, 'acgs-release-service', api.invoke, { ServiceName: 'gs', StartService: 'false' })
      .result;
    expect(api.lines()).toEqual(['POST /services/gs/release', 'GET /services']);
    expect(report.steps.map((s) => s.name)).toEqual(['release', 'chooseStart', 'serviceState']);
    const started = fakeApi();
    await run(doc, 'acgs-release-service', started.invoke, { ServiceName: 'gs' }).result;
    expect(started.lines()).toEqual([
      'POST /services/gs/release',
      'POST /services/gs/start',
      'POST /health/wait',
      'GET /services',
    ]);
  });

  it("release succeeds on the probes' word when its own start lost the race to remediation", async () => {
    const api = fakeApi((c) =>
      c.path === '/services/gs/start'
        ? { statusCode: 502, body: { status: 'failed', error: 'port 8004 in use' } }
        : undefined,
    );
    const report = await run(runbook('acgs-release-service'), 'acgs-release-service', api.invoke, { ServiceName: 'gs' })
      .result;
    expect(api.lines()).toEqual([
      'POST /services/gs/release',
      'POST /services/gs/start',
      'POST /health/wait',
      'GET /services',
    ]);
    expect(report.steps.find((s) => s.name === 'start')?.status).toBe('Failed');
    expect(report.status).toBe('Success');
    const unhealthy = fakeApi((c) =>
      c.path === '/health/wait' ? { statusCode: 503, body: { healthy: false, unhealthy: [] } } : undefined,
    );
    const failed = await run(runbook('acgs-release-service'), 'acgs-release-service', unhealthy.invoke, {
      ServiceName: 'gs',
    }).result;
    expect(failed.status).toBe('Failed');
  });

  it('rolling update stops at the service the API rolled back', async () => {
    const api = fakeApi((c) =>
      (c.body?.services as string[] | undefined)?.[0] === 'integrity'
        ? { statusCode: 502, body: { status: 'failed', error: 'integrity rolled back to abc123' } }
        : undefined,
    );
    const report = await run(runbook('acgs-rolling-update'), 'acgs-rolling-update', api.invoke, { Branch: 'release/2' })
      .result;
    expect(api.calls.map((c) => (c.body?.services as string[] | undefined)?.[0] ?? c.path)).toEqual([
      'auth',
      'ac',
      'integrity',
      '/services',
    ]);
    expect(api.calls[0]?.body).toEqual({ services: ['auth'], update: 'git-pull', branch: 'release/2' });
    expect(report.status).toBe('Failed');
  });

  it.each([
    ['neither is given', { Confirm: 'true' }, 'neither was given'],
    [
      'both are given',
      { BackupId: 'acgs_pgp_db-20261201T020000Z', TargetTime: 'latest', Confirm: 'true' },
      'both were given',
    ],
  ])('restore-database refuses before calling anything when %s of BackupId and TargetTime', async (_, given, why) => {
    const api = fakeApi();
    const report = await run(runbook('acgs-restore-database'), 'acgs-restore-database', api.invoke, given).result;
    expect(api.calls).toEqual([]);
    expect(report.status).toBe('Failed');
    expect(report.failure).toBe(
      `checkChoice: ValueError: give BackupId (a backup from acgs-ops backup list) or TargetTime (latest or a UTC time); ${why}`,
    );
    expect(report.steps.map((s) => `${s.name} ${s.status}`)).toEqual(['checkChoice Failed']);
  });

  it('restore-database restores the backup, or the point in time, that is given alone', async () => {
    const doc = runbook('acgs-restore-database');
    const backup = fakeApi();
    await run(doc, 'r', backup.invoke, { BackupId: 'acgs_pgp_db-20261201T020000Z', Confirm: 'true' }).result;
    expect(backup.lines()).toEqual(['POST /backups/acgs_pgp_db-20261201T020000Z/restore', 'GET /services']);
    const pitr = fakeApi();
    await run(doc, 'r', pitr.invoke, { TargetTime: '2026-12-01T01:30:00Z', Confirm: 'true' }).result;
    expect(pitr.lines()).toEqual(['POST /backups/pitr-restore/production', 'GET /services']);
    expect(pitr.calls[0]?.body).toEqual({ target: '2026-12-01T01:30:00Z', confirm: true });
  });

  it('declare-incident picks the security, fleet-wide or per-service body', async () => {
    const doc = runbook('acgs-declare-incident');
    const base = { Severity: 'P2', Title: 'Login errors' };
    const security = fakeApi();
    await run(doc, 'd', security.invoke, { ...base, Type: 'security', ServiceName: 'auth', Isolate: 'false' }).result;
    expect(security.calls[0]?.body).toEqual({
      type: 'security',
      severity: 'P1',
      title: 'Login errors',
      services: ['auth'],
      isolate: false,
    });
    const fleet = fakeApi();
    await run(doc, 'd', fleet.invoke, { ...base, Type: 'manual' }).result;
    expect(fleet.calls[0]?.body).toEqual({ type: 'manual', severity: 'P2', title: 'Login errors' });
  });
});

describe('runAutomation semantics', () => {
  function doc(steps: unknown[], extra: Record<string, unknown> = {}): AutomationDocument {
    const parsed = parseAutomationDocument(
      stringify({
        schemaVersion: '0.3',
        description: 'test',
        assumeRole: '{{ AutomationAssumeRole }}',
        parameters: {
          AutomationAssumeRole: {
            type: 'String',
            description: 'r',
            allowedPattern: '^arn:.*$',
            default: 'arn:aws:iam::1:role/x',
          },
        },
        mainSteps: steps,
        ...extra,
      }),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    return parsed.document;
  }
  const invoke = (path: string, more: Record<string, unknown> = {}) => ({
    action: 'aws:invokeLambdaFunction',
    timeoutSeconds: 60,
    inputs: {
      FunctionName: 'acgs-operator-api',
      Payload: `{"automation": {"executionId": "{{ automation:EXECUTION_ID }}"}, "method": "GET", "path": "${path}"}`,
    },
    ...more,
  });

  it('sleeps through the injected sleep: the fake clock moves, nothing waits', async () => {
    const api = fakeApi();
    const d = doc([
      { name: 'pause', action: 'aws:sleep', inputs: { Duration: 'PT2M' } },
      { name: 'after', ...invoke('/a') },
    ]);
    const { slept, result } = run(d, 't', api.invoke);
    const report = await result;
    expect(slept).toEqual([120_000]);
    expect(report.steps[0]).toMatchObject({ name: 'pause', durationMs: 120_000, status: 'Success' });
    expect(report.durationMs).toBe(120_000);
  });

  it('retries a failing step up to maxAttempts', async () => {
    let failures = 2;
    const api = fakeApi(() => (failures-- > 0 ? { statusCode: 500, body: { error: 'busy' } } : undefined));
    const report = await run(doc([{ name: 'flaky', maxAttempts: 3, ...invoke('/a') }]), 't', api.invoke).result;
    expect(api.calls).toHaveLength(3);
    expect(report.steps[0]).toMatchObject({ status: 'Success', attempts: 3 });
    expect(report.status).toBe('Success');
  });

  it('continues after a failed step with onFailure Continue, and a non-critical failure does not fail the run', async () => {
    const api = fakeApi((c) => (c.path === '/a' ? { statusCode: 404, body: { error: 'no' } } : undefined));
    const critical = await run(
      doc([
        { name: 'a', onFailure: 'Continue', ...invoke('/a') },
        { name: 'b', ...invoke('/b') },
      ]),
      't',
      api.invoke,
    ).result;
    expect(critical.steps.map((s) => `${s.name} ${s.status}`)).toEqual(['a Failed', 'b Success']);
    expect(critical.status).toBe('Failed');
    const optional = await run(
      doc([
        { name: 'a', onFailure: 'Continue', isCritical: false, ...invoke('/a') },
        { name: 'b', ...invoke('/b') },
      ]),
      't',
      api.invoke,
    ).result;
    expect(optional.status).toBe('Success');
  });

  it('aborts by default: nothing after a failed step runs', async () => {
    const api = fakeApi(() => ({ statusCode: 409, body: { error: 'isolated' } }));
    const report = await run(
      doc([
        { name: 'a', ...invoke('/a') },
        { name: 'b', ...invoke('/b') },
      ]),
      't',
      api.invoke,
    ).result;
    expect(api.lines()).toEqual(['GET /a']);
    expect(report.failure).toBe('a: the operator API answered 409: isolated');
  });

  it('fails a step that ran past its timeoutSeconds', async () => {
    const clock = new ManualClock();
    const report = await runAutomation({
      document: doc([{ name: 'slow', ...invoke('/a') }]),
      documentName: 't',
      parameters: { AutomationAssumeRole: 'arn:aws:iam::1:role/x' },
      invoke: async () => {
        clock.advance(61_000);
        return { statusCode: 200, body: {} };
      },
      clock,
      sleep: async () => {},
    });
    expect(report.steps[0]?.failure).toBe('ran 61s, past its timeoutSeconds 60');
  });

  const script = (body: string, more: Record<string, unknown> = {}) => ({
    action: 'aws:executeScript',
    timeoutSeconds: 30,
    inputs: {
      Runtime: 'python3.11',
      Handler: 'handler',
      InputPayload: { Role: '{{ AutomationAssumeRole }}', Limit: 3 },
      Script: `def handler(events, context):\n${body}`,
    },
    ...more,
  });

  it('runs an aws:executeScript handler on its InputPayload, its return value the Payload the outputs select from', async () => {
    const api = fakeApi();
    const d = doc([
      {
        name: 'compute',
        ...script('    print("not an output")\n    return {"role": events["Role"], "twice": events["Limit"] * 2}'),
        outputs: [{ Name: 'Twice', Selector: '$.Payload.twice', Type: 'Integer' }],
      },
      {
        name: 'use',
        ...invoke('/a'),
        inputs: {
          FunctionName: 'acgs-operator-api',
          Payload:
            '{"automation": {"executionId": "{{ automation:EXECUTION_ID }}"}, "method": "GET", "path": "/a", "body": {"n": {{ compute.Twice }} } }',
        },
      },
    ]);
    const report = await run(d, 't', api.invoke).result;
    expect(report.steps[0]).toMatchObject({
      status: 'Success',
      outputs: { Payload: { role: 'arn:aws:iam::1:role/x', twice: 6 }, Twice: 6 },
    });
    expect(api.calls[0]?.body).toEqual({ n: 6 });
  });

  it('fails an aws:executeScript step with the exception its handler raised, and runs nothing after it', async () => {
    const api = fakeApi();
    const raising = { name: 'check', ...script('    raise ValueError("no such thing")') };
    const report = await run(doc([raising, { name: 'after', ...invoke('/a') }]), 't', api.invoke).result;
    expect(report.failure).toBe('check: ValueError: no such thing');
    expect(api.calls).toEqual([]);
  });

  it('stops an aws:executeScript step whose script runs past its timeoutSeconds', async () => {
    const report = await run(
      doc([{ name: 'hang', ...script('    import time\n    time.sleep(60)', { timeoutSeconds: 1 }) }]),
      't',
      fakeApi().invoke,
    ).result;
    expect(report.failure).toBe('hang: the script ran past its timeout of 1s and was stopped');
    expect(report.steps[0]?.status).toBe('Failed');
  });

  it('selects outputs with JSONPath', () => {
    expect(select({ body: { window: { id: 'mw-1' }, list: [{ a: 1 }] } }, '$.body.window.id')).toBe('mw-1');
    expect(select({ body: { list: [{ a: 1 }] } }, '$.body.list[0].a')).toBe(1);
    expect(select({ body: {} }, '$.body.window.id')).toBeUndefined();
  });
});

describe('operatorApiInvoker', () => {
  it('acts as the local operator through the runbook, and a 4xx fails the step', async () => {
    const h = createHarness();
    const invoke = operatorApiInvoker(h.ctx, {
      operator: 'alice',
      documentName: 'acgs-declare-incident',
      executionId: EXECUTION,
    });
    const report = await run(runbook('acgs-declare-incident'), 'acgs-declare-incident', invoke, {
      Type: 'manual',
      Severity: 'P3',
      Title: 'Slow answers',
      ServiceName: 'auth',
    }).result;
    expect(report.failure).toBeUndefined();
    expect(report.status).toBe('Success');
    const id = report.outputs['declareForService.IncidentId'] as string;
    expect(JSON.stringify(await h.store.getTimeline(id))).toContain(
      `local:alice via runbook acgs-declare-incident ${EXECUTION}`,
    );

    const refused = await run(runbook('acgs-declare-incident'), 'acgs-declare-incident', invoke, {
      Type: 'manual',
      Severity: 'P3',
      Title: 'Slow answers',
      ServiceName: 'nosuch',
    }).result;
    expect(refused.status).toBe('Failed');
    expect(refused.failure).toMatch(/^declareForService: the operator API answered 400/);
  });

  it('refuses a payload naming another execution, or another function', async () => {
    const h = createHarness();
    const invoke = operatorApiInvoker(h.ctx, { operator: 'alice', documentName: 'd', executionId: EXECUTION });
    const other = {
      automation: { executionId: '0a1b2c3d-0000-4000-8000-000000000002' },
      method: 'GET',
      path: '/incidents',
    };
    await expect(invoke('acgs-operator-api', other)).rejects.toThrow('not this one');
    await expect(invoke('arn:aws:lambda:x', other)).rejects.toThrow('only the operator API');
  });
});
