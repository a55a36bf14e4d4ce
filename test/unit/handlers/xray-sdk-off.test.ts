import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { captureLambdaHandler, Tracer } from '../../../lambdas/handlers/xray-sdk-off.ts';

/*
 * The bundles' stand-in for Powertools' Tracer (esbuild alias unless -c xraySdk=true) must answer every Tracer call
 * the Lambda code makes: a call it lacks would fail only in a deployed function.
 */
describe('the Tracer stand-in of bundles without the X-Ray SDK', () => {
  it('has every method the Lambda code calls on a tracer', () => {
    const called = new Set<string>();
    for (const dir of ['lambdas/handlers', 'lambdas/adapters/aws', 'lambdas/use-cases']) {
      for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')))
        for (const m of readFileSync(join(dir, file), 'utf8').matchAll(/\btracer\??\.(\w+)\(/g)) called.add(m[1] ?? '');
    }
    expect(called.size).toBeGreaterThan(0);
    const tracer = new Tracer();
    for (const method of called)
      expect(typeof (tracer as unknown as Record<string, unknown>)[method], method).toBe('function');
    const client = { send: () => 1 };
    expect(tracer.captureAWSv3Client(client)).toBe(client);
  });

  it('gives middy a middleware that lets the handler run', async () => {
    const handler = middy(async (event: { n: number }) => event.n + 1).use(captureLambdaHandler(new Tracer()));
    expect(await handler({ n: 1 }, {} as never)).toBe(2);
  });
});
