import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import { ControlPlaneStack } from '../../lib/control-plane-stack.ts';
import {
  ACGS_CONFIG,
  type Json,
  REPOSITORY_ROOT,
  type Resource,
  type Synthesized,
  synthesize,
} from '../support/synth-stack.ts';

/**
 * What keeps the shipped stack from deploying into an ordinary account: reserved concurrency that an account with
 * the default Lambda quota of 10 cannot give, and names that are unique across the whole account (IAM, CloudWatch
 * dashboards), so the same fleet's stack cannot also be deployed in a second region.
 */
let synth: Synthesized;
let resources: Record<string, Resource>;

beforeAll(() => {
  synth = synthesize(ACGS_CONFIG);
  resources = synth.template.toJSON().Resources;
}, 180_000);

afterAll(() => synth?.dispose());

/** Properties naming a resource whose name is unique in the whole account (IAM, dashboards) or across AWS (S3). */
const ACCOUNT_GLOBAL_NAMES: Readonly<Record<string, string>> = {
  'AWS::IAM::Role': 'RoleName',
  'AWS::IAM::ManagedPolicy': 'ManagedPolicyName',
  'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName',
  'AWS::IAM::InstanceProfile': 'InstanceProfileName',
  'AWS::CloudWatch::Dashboard': 'DashboardName',
  'AWS::S3::Bucket': 'BucketName',
};

/** Properties the stack sets explicitly that name a resource within one region: a second region has its own. */
const REGIONAL_NAMES: Readonly<Record<string, string>> = {
  'AWS::Events::EventBus': 'Name',
  'AWS::SSM::Document': 'Name',
  'AWS::Scheduler::ScheduleGroup': 'Name',
  'AWS::Logs::ResourcePolicy': 'PolicyName',
};

/** Properties ending in `Name` that name no resource of their own, or one only within another resource. */
const NOT_RESOURCE_NAMES = new Set([
  'AWS::SNS::Topic DisplayName',
  'AWS::CloudWatch::Alarm MetricName',
  // The group a schedule belongs to (named above), and an inline policy's name within its role.
  'AWS::Scheduler::Schedule GroupName',
  'AWS::IAM::Policy PolicyName',
]);

interface Deployment {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
}

/**
 * A name as CloudFormation would make it in `deployment`: pseudo parameters are filled in; a resource's own Ref or
 * attribute is a value CloudFormation generated for that deployment alone.
 */
function evaluate(value: Json, deployment: Deployment): string {
  if (typeof value === 'string') return value;
  const pseudo: Record<string, string> = {
    'AWS::Region': deployment.region,
    'AWS::AccountId': deployment.account,
    'AWS::StackName': deployment.stackName,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
  };
  if ('Ref' in value) return pseudo[value.Ref] ?? `<${value.Ref} of ${deployment.region}>`;
  if ('Fn::GetAtt' in value) return `<${[value['Fn::GetAtt']].flat().join('.')} of ${deployment.region}>`;
  if ('Fn::Join' in value) {
    const [separator, parts] = value['Fn::Join'] as [string, Json[]];
    return parts.map((p) => evaluate(p, deployment)).join(separator);
  }
  if ('Fn::Sub' in value && typeof value['Fn::Sub'] === 'string')
    return (value['Fn::Sub'] as string).replace(
      /\$\{([^}]+)\}/g,
      (_, name: string) => pseudo[name] ?? `<${name} of ${deployment.region}>`,
    );
  throw new Error(`cannot evaluate the name ${JSON.stringify(value)}`);
}

/** "<type> <logical id>" -> the account-global name the resource gets in `deployment`, for those with one set. */
function accountGlobalNames(template: Record<string, Resource>, deployment: Deployment): Map<string, string> {
  const names = new Map<string, string>();
  for (const [id, r] of Object.entries(template)) {
    const property = ACCOUNT_GLOBAL_NAMES[r.Type];
    const value = property === undefined ? undefined : r.Properties?.[property];
    if (value !== undefined) names.set(`${r.Type} ${id}`, evaluate(value, deployment));
  }
  return names;
}

describe('the same fleet deployed in two regions of one account', () => {
  const deployment = (region: string): Deployment => ({
    account: '123456789012',
    region,
    stackName: synth.stack.stackName,
  });

  it('gives no two resources the same account-wide name (IAM names, dashboard names)', () => {
    const east = accountGlobalNames(resources, deployment('us-east-1'));
    const west = accountGlobalNames(resources, deployment('eu-west-1'));
    const taken = new Set(east.values());
    expect([...west].filter(([, name]) => taken.has(name))).toEqual([]);
  });

  it('names IAM policies and roles through CloudFormation, and the dashboard with the stack and the region', () => {
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type === 'AWS::IAM::ManagedPolicy') expect(r.Properties?.ManagedPolicyName, id).toBeUndefined();
      if (r.Type === 'AWS::IAM::Role') expect(r.Properties?.RoleName, id).toBeUndefined();
    }
    const dashboards = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboards.map((d) => evaluate(d.Properties?.DashboardName, deployment('eu-west-1')))).toEqual([
      `${synth.stack.stackName}-eu-west-1-overview`,
    ]);
  });

  it('finds every generated name in the stack outputs', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: Json }>;
    expect(outputs.OperatorAccessPolicyArn?.Value).toEqual({ Ref: synth.stack.getLogicalId(policyOf('operator')) });
    expect(outputs.BackupHostAccessPolicyArn?.Value).toEqual({ Ref: synth.stack.getLogicalId(policyOf('backup')) });
    expect(outputs.DashboardName?.Value).toEqual({ Ref: logicalIdOfType('AWS::CloudWatch::Dashboard') });
  });

  it('sets no explicit name this test does not know to be regional or account-wide', () => {
    const unknown = Object.entries(resources).flatMap(([id, r]) =>
      Object.entries(r.Properties ?? {})
        // A reference to another resource of the stack (an invoke config names its function) names nothing new.
        .filter(([p, value]) => p.endsWith('Name') && typeof value === 'string')
        .map(([p]) => p)
        .filter(
          (p) =>
            REGIONAL_NAMES[r.Type] !== p &&
            ACCOUNT_GLOBAL_NAMES[r.Type] !== p &&
            !NOT_RESOURCE_NAMES.has(`${r.Type} ${p}`),
        )
        .map((p) => `${r.Type} ${id} ${p}`),
    );
    expect(unknown).toEqual([]);
  });
});

function policyOf(which: 'operator' | 'backup') {
  const policy = which === 'operator' ? synth.stack.operatorAccess : synth.stack.backupHostAccess;
  if (!policy) throw new Error(`no ${which} policy`);
  const resource = policy.node.defaultChild;
  if (!resource) throw new Error(`the ${which} policy has no resource`);
  return resource as Parameters<typeof synth.stack.getLogicalId>[0];
}

function logicalIdOfType(type: string): string {
  const ids = Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id]) => id);
  if (ids.length !== 1) throw new Error(`expected one ${type}, found ${ids.length}`);
  return ids[0] as string;
}

describe('reserved concurrency', () => {
  const reserving = ['probe', 'escalationSweep', 'backups'] as const;

  it('reserves none by default: an account with the default quota of 10 deploys the stack', () => {
    const reserved = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties?.ReservedConcurrentExecutions !== undefined)
      .map(([id]) => id);
    expect(reserved).toEqual([]);
  });

  it('reserves one run each for the probe, the sweep and the backups Lambda with aws.reservedConcurrency: true', () => {
    // Built without cdk-nag and without bundling: only the functions' properties are read.
    const parsed = parseFleetConfig(
      readFileSync(ACGS_CONFIG, 'utf8').replace(/^aws:\n/m, 'aws:\n  reservedConcurrency: true\n'),
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.config.aws.reservedConcurrency).toBe(true);
    const context = (JSON.parse(readFileSync(join(REPOSITORY_ROOT, 'cdk.json'), 'utf8')) as { context: object })
      .context;
    const outdir = mkdtempSync(join(tmpdir(), 'acgs-reserved-cdk.out-'));
    try {
      const app = new App({
        context: { ...context, 'aws:cdk:bundling-stacks': [] },
        analyticsReporting: false,
        outdir,
      });
      const stack = new ControlPlaneStack(app, 'reserved', { config: parsed.config });
      const functions = Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
      for (const name of reserving) {
        const fn = stack.functions[name];
        if (!fn) throw new Error(`no ${name} Lambda`);
        const id = stack.getLogicalId(fn.fn.node.defaultChild as Parameters<typeof stack.getLogicalId>[0]);
        expect(functions[id]?.Properties?.ReservedConcurrentExecutions, name).toBe(1);
      }
      for (const name of ['commandStatus', 'operatorApi'] as const) {
        const id = stack.getLogicalId(
          stack.functions[name].fn.node.defaultChild as Parameters<typeof stack.getLogicalId>[0],
        );
        expect(functions[id]?.Properties?.ReservedConcurrentExecutions, name).toBeUndefined();
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 180_000);
});
