import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SecretsManagerSecretSource } from '../../../lambdas/adapters/aws/secrets-manager-secret-source.ts';
import { CONTROL_PLANE_METRICS } from '../../../lambdas/core/metrics.ts';
import type { ProbeResult } from '../../../lambdas/core/probe-evaluation.ts';
import type { AwsRuntime } from '../../../lambdas/handlers/aws-runtime.ts';
import { awsDeadMansSwitch, createProbeHandler } from '../../../lambdas/handlers/probe.ts';
import type { Prober } from '../../../lambdas/ports.ts';
import { createHarness, loadShippedConfig, results } from '../../support/harness.ts';
import { lambdaContext } from '../../support/lambda-context.ts';
import { awsClientConfig, useMotoServer } from '../../support/moto.ts';

/*
 * The probe Lambda's dead man's switch with its URL in Secrets Manager (moto): read once per cold start through the
 * source the probes use, then a ping after each cycle to a local server standing in for Healthchecks.io.
 */

const moto = useMotoServer();
let client: SecretsManagerClient;
let server: http.Server;
const pings: { path: string; body: string }[] = [];
let base = '';

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      pings.push({ path: request.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
      response.end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new SecretsManagerClient(awsClientConfig(moto.endpoint));
  await client.send(
    new CreateSecretCommand({
      Name: 'acgs-1/dead-mans-switch',
      SecretString: JSON.stringify({ url: `${base}/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278` }),
    }),
  );
});
afterAll(async () => {
  client.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("the probe Lambda's dead man's switch, URL in Secrets Manager", () => {
  it('reads the URL once per cold start and pings after every cycle', async () => {
    // Prepare: the runtime of one Lambda instance whose config names the secret
    vi.stubEnv('POWERTOOLS_DEV', 'true');
    vi.spyOn(console, 'log').mockImplementation(() => {});
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const config = {
      ...loadShippedConfig(),
      deadMansSwitch: { urlSecret: { id: 'acgs-1/dead-mans-switch', field: 'url' }, timeout: 5_000 },
    };
    const h = createHarness(config);
    const serviceName = 'acgs-1-control-plane';
    const runtime = {
      ctx: h.ctx,
      logger: new Logger({ serviceName }),
      metrics: new Metrics({ namespace: CONTROL_PLANE_METRICS.namespace, serviceName }),
      tracer: new Tracer({ serviceName, enabled: false }),
      env: {} as AwsRuntime['env'],
    } satisfies AwsRuntime;
    const reads = vi.spyOn(client, 'send');
    const pinger = awsDeadMansSwitch(runtime, () => new SecretsManagerSecretSource(client));
    if (!pinger) throw new Error('no dead mans switch');
    const prober: Prober = {
      probe: async (target) => results(h.ctx, {}).find((r) => r.targetId === target.id) as ProbeResult,
    };
    const handler = createProbeHandler(runtime, prober, pinger);

    // Act: two scheduled cycles (the second after the first's lease is given up)
    await handler({}, lambdaContext('probe'));
    h.clock.advance(60_000);
    await handler({}, lambdaContext('probe'));

    // Assess
    expect(pings.map((p) => p.path)).toEqual([
      '/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278',
      '/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278',
    ]);
    expect(pings[0]?.body).toMatch(/^probe cycle done: \d+\/\d+ targets healthy/);
    expect(reads).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
});
