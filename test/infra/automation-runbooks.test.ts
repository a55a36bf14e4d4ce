import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ASSUME_ROLE_PLACEHOLDER, OPERATOR_FUNCTION_PLACEHOLDER } from '../../lambdas/core/automation-invocation.ts';
import {
  ACGS_CONFIG,
  type Json,
  logicalId,
  REPOSITORY_ROOT,
  resourcesOfType,
  useSynthesizedStack,
} from '../support/synth-stack.ts';

const fleet = useSynthesizedStack(ACGS_CONFIG);
const RUNBOOKS_DIR = join(REPOSITORY_ROOT, 'ssm-documents', 'automation');
const FILES = readdirSync(RUNBOOKS_DIR).filter((f) => f.endsWith('.yaml'));
const arnOf = (construct: Parameters<typeof logicalId>[0]) => ({ 'Fn::GetAtt': [logicalId(construct), 'Arn'] });
const partitionRegionAccount = (rest: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, rest],
  ],
});

function automationDocuments(): Record<string, Json> {
  return Object.fromEntries(
    Object.values(resourcesOfType(fleet.template, 'AWS::SSM::Document'))
      .filter((r) => r.Properties.DocumentType === 'Automation')
      .map((r) => [r.Properties.Name as string, r.Properties]),
  );
}

describe('Automation runbooks', () => {
  it('deploys one Automation document per runbook file, as <stack>-runbook-<file> (the Command documents are <stack>-<file>), a new version on update', () => {
    const docs = automationDocuments();
    expect(Object.keys(docs).sort()).toEqual(
      FILES.map((f) => `${fleet.stack.stackName}-runbook-${f.replace(/\.yaml$/, '')}`).sort(),
    );
    for (const props of Object.values(docs)) expect(props.UpdateMethod).toBe('NewVersion');
  });

  it('deploys each file with only its placeholders replaced: the operator function, the fleet, the role', () => {
    const fn = arnOf(fleet.stack.functions.operatorApi.fn);
    const role = arnOf(fleet.stack.automationRunbooks.role);
    const services = fleet.config.services.map((s) => s.name);
    for (const file of FILES) {
      const source = parse(readFileSync(join(RUNBOOKS_DIR, file), 'utf8')) as Json;
      const deployed = automationDocuments()[`${fleet.stack.stackName}-runbook-${file.replace(/\.yaml$/, '')}`].Content;
      const expected = JSON.parse(
        JSON.stringify(source)
          .replaceAll(`"FunctionName":"${OPERATOR_FUNCTION_PLACEHOLDER}"`, `"FunctionName":${JSON.stringify(fn)}`)
          .replace(`"default":"${ASSUME_ROLE_PLACEHOLDER}"`, `"default":${JSON.stringify(role)}`)
          .replaceAll('"default":["acgs-fleet-services"]', `"default":${JSON.stringify(services)}`),
      );
      expect(deployed).toEqual(expected);
      expect(JSON.stringify(deployed)).not.toContain(OPERATOR_FUNCTION_PLACEHOLDER);
    }
  });

  it('runs as a role only SSM Automation of this account assumes, allowed exactly to invoke the operator function', () => {
    const { role } = fleet.stack.automationRunbooks;
    expect(fleet.props(role).AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'ssm.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: { 'aws:SourceArn': partitionRegionAccount(':automation-execution/*') },
          },
        },
      ],
    });
    expect(fleet.props(role).ManagedPolicyArns ?? []).toEqual([]);
    const policies = Object.values(resourcesOfType(fleet.template, 'AWS::IAM::Policy')).filter((p) =>
      (p.Properties.Roles as Json[]).some((r) => r.Ref === logicalId(role)),
    );
    expect(policies.map((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: arnOf(fleet.stack.functions.operatorApi.fn) }],
    ]);
  });

  it('lets the operator function read executions (GetAutomationExecution, no other Automation action) and names the runbooks it serves', () => {
    const operator = fleet.stack.functions.operatorApi;
    const statements = Object.values(resourcesOfType(fleet.template, 'AWS::IAM::Policy'))
      .filter((p) => (p.Properties.Roles as Json[]).some((r) => r.Ref === logicalId(operator.role)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Json[])
      .filter((s) => JSON.stringify(s.Action).includes('Automation'));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:GetAutomationExecution',
        Resource: partitionRegionAccount(':automation-execution/*'),
      },
    ]);
    const names = JSON.parse(fleet.props(operator.fn).Environment.Variables.ACGS_RUNBOOK_NAMES);
    expect(names).toEqual(Object.values(fleet.stack.automationRunbooks.documentNames));
  });

  it('gives OperatorAccess exactly: start these runbooks, read executions, pass their role to SSM only', () => {
    const statements = fleet.props(fleet.stack.operatorAccess).PolicyDocument.Statement as Json[];
    const runbookStatements = statements.filter((s) => !String(s.Action).startsWith('lambda:'));
    expect(runbookStatements).toEqual([
      {
        Effect: 'Allow',
        Action: 'ssm:StartAutomationExecution',
        Resource: Object.values(fleet.stack.automationRunbooks.documentNames).map((name) =>
          partitionRegionAccount(`:automation-definition/${name}:*`),
        ),
      },
      {
        Effect: 'Allow',
        Action: ['ssm:DescribeAutomationStepExecutions', 'ssm:GetAutomationExecution'],
        Resource: partitionRegionAccount(':automation-execution/*'),
      },
      {
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: arnOf(fleet.stack.automationRunbooks.role),
        Condition: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
      },
    ]);
  });
});
