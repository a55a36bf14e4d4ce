import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnDocument } from 'aws-cdk-lib/aws-ssm';
import { Construct, type IConstruct } from 'constructs';
import { parse } from 'yaml';
import { parseAutomationDocument, placeRunbook } from '../../lambdas/core/automation-document.ts';
import { formatYamlProblems } from '../../lambdas/core/yaml-schema.ts';

export interface AutomationRunbooksProps {
  /** Directory holding the Automation runbooks, one `<name>.yaml` each (`ssm-documents/automation`). */
  readonly runbooksDir: string;
  /** The operator API function every `aws:invokeLambdaFunction` step calls. */
  readonly operatorFunction: IFunction;
  /** The fleet's services in dependency order: the default of each runbook's `Services`. */
  readonly services: readonly string[];
  /**
   * Prefix of the deployed document names: `<prefix>-<file name>`.
   * @default `<stack name>-runbook` (the Command documents are `<stack name>-<file name>`, and five runbooks share
   * their file name: acgs-restart-service the runbook calls the API, acgs-restart-service the document runs on the host)
   */
  readonly namePrefix?: string;
}

/**
 * The SSM Automation runbooks (schemaVersion 0.3) of `ssm-documents/automation/`, each deployed as
 * `<stack>-runbook-<file name>` (a new version on update), its placeholders replaced: FunctionName by the operator
 * function's ARN, the default of `Services` by the fleet, the default of AutomationAssumeRole by the role created
 * here. That role is assumed by SSM Automation of this account only and may do exactly one thing: invoke the
 * operator function (which then acts, and records, as the principal who started the execution).
 */
export class AutomationRunbooks extends Construct {
  /** File name without `.yaml` -> deployed document name. */
  readonly documentNames: Readonly<Record<string, string>>;
  readonly documents: readonly CfnDocument[];
  /** The role every runbook runs as (its `AutomationAssumeRole`). */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: AutomationRunbooksProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? `${stack.stackName}-runbook`;
    const files = readdirSync(props.runbooksDir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    if (files.length === 0) throw new Error(`no Automation runbooks (*.yaml) in ${props.runbooksDir}`);

    this.role = new Role(this, 'AssumeRole', {
      description: 'SSM Automation runs the operator runbooks as this role: it only invokes the operator API',
      assumedBy: new ServicePrincipal('ssm.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'ssm',
              resource: 'automation-execution',
              resourceName: '*',
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            }),
          },
        },
      }),
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.operatorFunction.functionArn] }),
    );

    const names: Record<string, string> = {};
    const documents: CfnDocument[] = [];
    for (const file of files) {
      const key = basename(file, '.yaml');
      const path = join(props.runbooksDir, file);
      const text = readFileSync(path, 'utf8');
      // A runbook that fails the checks never reaches the console.
      const checked = parseAutomationDocument(text);
      if (!checked.ok) throw new Error(formatYamlProblems('Automation runbook', path, checked.problems));
      const content = placeRunbook(parse(text) as unknown, {
        functionName: props.operatorFunction.functionArn,
        services: props.services,
        assumeRole: this.role.roleArn,
      });
      const name = `${prefix}-${key}`;
      documents.push(
        new CfnDocument(this, key, { name, documentType: 'Automation', content, updateMethod: 'NewVersion' }),
      );
      names[key] = name;
    }
    this.documentNames = names;
    this.documents = documents;
  }

  /** The automation-definition ARNs of the runbooks (every version): what StartAutomationExecution is granted on. */
  definitionArns(): string[] {
    const stack = Stack.of(this);
    return Object.values(this.documentNames).map((name) =>
      stack.formatArn({
        service: 'ssm',
        resource: 'automation-definition',
        resourceName: `${name}:*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    );
  }

  /** Automation executions of this account and region (execution ids are not known in advance). */
  executionArn(): string {
    return Stack.of(this).formatArn({
      service: 'ssm',
      resource: 'automation-execution',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /**
   * Lets the operator function read an execution (ssm:GetAutomationExecution), to learn who started the runbook
   * that invokes it. Exactly that action.
   */
  grantReadExecution(grantee: IGrantable & IConstruct): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ssm:GetAutomationExecution'], resources: [this.executionArn()] }),
    );
    Validations.of(grantee).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:automation-execution/*]',
      reason:
        'An execution id is known only when a runbook runs: the operator function reads the execution that invokes ' +
        'it (GetAutomationExecution, read-only) to act as the principal who started it, and refuses an execution ' +
        'that is not of these runbooks or not in progress.',
    });
  }

  /**
   * Records on `policy` (the one holding `operatorStatements`) why its two kinds of wildcard are the narrowest there
   * is: every version of these runbooks, and executions (whose ids nobody knows in advance).
   */
  acknowledgeOperatorWildcards(policy: IConstruct): void {
    for (const name of Object.values(this.documentNames))
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:automation-definition/${name}:*]`,
        reason:
          'The version part of a runbook ARN: an operator starts the default version of this runbook (or names an ' +
          'older one to go back); the document itself is named.',
      });
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:automation-execution/*]',
      reason:
        'Reading an execution (its status, steps and outputs) after starting it: execution ids exist only once ' +
        'started, and GetAutomationExecution / DescribeAutomationStepExecutions take no condition on the document.',
    });
  }

  /**
   * What an operator needs to run the runbooks: start them (these documents only), follow their executions, and
   * pass their role to SSM (that role only, to SSM only).
   */
  operatorStatements(): PolicyStatement[] {
    return [
      new PolicyStatement({ actions: ['ssm:StartAutomationExecution'], resources: this.definitionArns() }),
      new PolicyStatement({
        actions: ['ssm:DescribeAutomationStepExecutions', 'ssm:GetAutomationExecution'],
        resources: [this.executionArn()],
      }),
      new PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ssm.amazonaws.com' } },
      }),
    ];
  }
}
