import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { addControlPlane, FleetConfigError } from '../../lib/app.ts';
import { ControlPlaneStack } from '../../lib/control-plane-stack.ts';
import { awsReachabilityProblems } from '../../lib/probe-reachability.ts';
import { ACGS_CONFIG, REPOSITORY_ROOT, SINGLE_HOST_CONFIG } from '../support/synth-stack.ts';

/**
 * The stack refuses a fleet the probe Lambda could not reach from AWS: loopback and link-local targets (its own
 * sandbox), and private targets without `aws.vpc`. Each refusal comes before anything is built, so no synth here.
 */
const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'acgs-reachability-'));
  temporary.push(dir);
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, text);
  return path;
}

function parsed(text: string): FleetConfig {
  const result = parseFleetConfig(text);
  if (!result.ok) throw new Error(`invalid test config: ${JSON.stringify(result.problems)}`);
  return result.config;
}

const AWS_TEXT = readFileSync(ACGS_CONFIG, 'utf8');
const SINGLE_HOST_TEXT = readFileSync(SINGLE_HOST_CONFIG, 'utf8');
/** The AWS config without its `vpc:` block. */
const WITHOUT_VPC = AWS_TEXT.replace(/\n {2}# YOUR VPC:[\s\S]*?availabilityZones: .*\n/, '\n');

function refusal(configPath: string): string {
  try {
    addControlPlane(new App(), { configPath });
  } catch (error) {
    expect(error).toBeInstanceOf(FleetConfigError);
    return (error as Error).message;
  }
  throw new Error(`${configPath} was not refused`);
}

describe('synth of a fleet the probe Lambda cannot reach', () => {
  it('is not what cdk.json deploys: that is the AWS fleet config', () => {
    const cdk = JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'cdk.json'), 'utf8')) as { context: { config: string } };
    expect(join(REPOSITORY_ROOT, cdk.context.config)).toBe(ACGS_CONFIG);
  });

  it('refuses config/acgs-1.yaml, naming every loopback target by its field', () => {
    // Act
    const message = refusal(SINGLE_HOST_CONFIG);

    // Assess
    const config = parsed(SINGLE_HOST_TEXT);
    const targets = config.services.length + config.checks.length;
    expect(message.split('\n')[0]).toBe(
      `config ${SINGLE_HOST_CONFIG} cannot be probed from AWS (${targets} problems):`,
    );
    expect(message).toContain(
      '  services.2.host: 127.0.0.1 is a loopback address (127.0.0.0/8): the probe Lambda would probe its own ' +
        'sandbox, not a fleet host; name the host by its private DNS name or address (a single-host config runs ' +
        'with the daemon, not on AWS)',
    );
    expect(message).toContain('  checks.0.host: 127.0.0.1 is a loopback address');
    expect(message).toContain('  checks.2.url: 127.0.0.1 is a loopback address');
    expect(message).not.toContain('aws.vpc');
  });

  it('refuses a link-local target and localhost, each at its field', () => {
    // Prepare
    const path = configFile(
      'link-local',
      AWS_TEXT.replace('http://ops.acgs.internal:3000/api/health', 'http://169.254.169.254/latest/meta-data').replace(
        'host: data.acgs.internal\n    port: 6379',
        'host: localhost\n    port: 6379',
      ),
    );

    // Act
    const message = refusal(path);

    // Assess
    expect(message).toContain('(2 problems)');
    expect(message).toContain(
      '  checks.4.url: 169.254.169.254 is a link-local address (169.254.0.0/16): the probe Lambda would probe its ' +
        'own network link, not a fleet host',
    );
    expect(message).toContain(
      '  checks.1.host: localhost is a loopback name (localhost): the probe Lambda would probe',
    );
  });

  it('refuses private targets without aws.vpc, naming the first few and counting the rest', () => {
    // Prepare
    const path = configFile('no-vpc', WITHOUT_VPC);
    expect(parsed(WITHOUT_VPC).aws.vpc).toBeUndefined();

    // Act
    const message = refusal(path);

    // Assess
    expect(message).toBe(
      `config ${path} cannot be probed from AWS (1 problem):\n` +
        '  aws.vpc: is required: 17 probe targets are private (services.0.host app-1.acgs.internal (a name under ' +
        '.internal, which public DNS does not answer), services.1.host app-1.acgs.internal (a name under .internal, ' +
        'which public DNS does not answer), services.2.host app-1.acgs.internal (a name under .internal, which public ' +
        'DNS does not answer) and 14 more) and the probe Lambda reaches them only from inside their VPC; add aws.vpc ' +
        'with its vpcId, subnetIds, securityGroupIds and availabilityZones',
    );
  });

  it('refuses private addresses (RFC 1918, carrier-grade NAT, unique local IPv6) without aws.vpc as well', () => {
    // Prepare
    const base = parsed(WITHOUT_VPC);
    const on = (host: string): FleetConfig => ({
      ...base,
      services: base.services.map((s, i) => ({ ...s, host: i === 0 ? host : 'app.acgs.example' })),
      checks: [],
    });

    // Act / Assess
    for (const host of ['10.0.1.11', '172.20.0.5', '192.168.1.10', '100.64.0.7', 'fd00::11', 'db'])
      expect(awsReachabilityProblems(on(host)).map((p) => p.path)).toEqual(['aws.vpc']);
  });

  it('accepts private targets inside aws.vpc, and public targets without it', () => {
    // Prepare
    const base = parsed(WITHOUT_VPC);
    const publicFleet: FleetConfig = {
      ...base,
      services: base.services.map((s) => ({ ...s, host: 'app.acgs.example' })),
      checks: base.checks.map((c) =>
        'url' in c
          ? { ...c, url: c.url.replace(/ops\.acgs\.internal|app-2\.acgs\.internal/, '203.0.113.9') }
          : { ...c, host: '203.0.113.10' },
      ),
    };

    // Act / Assess
    expect(awsReachabilityProblems(parsed(AWS_TEXT))).toEqual([]);
    expect(awsReachabilityProblems(publicFleet)).toEqual([]);
  });

  it('makes the stack itself throw, naming the field, when it is built without the app', () => {
    // Prepare
    const config = parsed(SINGLE_HOST_TEXT);

    // Act / Assess
    expect(() => new ControlPlaneStack(new App(), 'loopback', { config })).toThrow(
      /^the fleet config cannot be probed from AWS \(17 problems\):\n {2}services\.0\.host: 127\.0\.0\.1 is a loopback address/,
    );
  });

  it('stops `cdk synth -c config=config/acgs-1.yaml` (bin/app.ts) with exit 1 and the message, before building anything', () => {
    // Act
    const run = spawnSync(join(REPOSITORY_ROOT, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
      cwd: REPOSITORY_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ config: 'config/acgs-1.yaml' }) },
      timeout: 60_000,
    });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`config ${SINGLE_HOST_CONFIG} cannot be probed from AWS (17 problems):`);
    expect(run.stderr).toContain('services.2.host: 127.0.0.1 is a loopback address (127.0.0.0/8)');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
