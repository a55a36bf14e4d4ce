/**
 * What it takes to deploy a synthesized control-plane template to moto 5.2.1's CloudFormation: the few rewrites for
 * what moto does not model (each named with the limitation it works around, and each required to still apply, so
 * the list cannot outlive the limitation), the resource types moto skips without a word, and the environment a
 * `cdk deploy` expects (the bootstrap version parameter and the asset bucket with the functions' code).
 *
 * Everything here was checked against moto_server 5.2.1: its CloudFormation creates each resource synchronously
 * inside CreateStack, and answers a template it cannot handle with an HTTP 500 (an `AttributeError` in its log).
 */

import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { awsClientConfig } from './moto.ts';
import type { PolicyDocument } from './role-permissions.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are arbitrary JSON.
export type TemplateJson = Record<string, any>;

export interface MotoTransform {
  readonly name: string;
  /** The moto limitation this rewrite works around, and why the rewrite keeps the template's meaning. */
  readonly limitation: string;
  /** Rewrites `template` in place; returns what it changed (logical ids or output names), empty if nothing. */
  readonly apply: (template: TemplateJson) => string[];
}

/**
 * moto's CloudFormation requires `DocumentFormat` on `AWS::SSM::Document` ("Invalid document format None", HTTP 400),
 * where AWS defaults it to JSON; and it keeps a `Content` given as a JSON object as the object, on which its
 * DescribeDocument then fails (HTTP 500: it hashes the content as text). The rewrite writes down AWS's default format
 * and the same content as JSON text, which CloudFormation accepts for this property too.
 */
export const ssmDocumentContent: MotoTransform = {
  name: 'ssmDocumentContent',
  limitation:
    'moto requires DocumentFormat on AWS::SSM::Document (AWS defaults to JSON) and cannot describe object Content',
  apply: (template) => {
    const changed: string[] = [];
    for (const [id, resource] of resourcesOfType(template, 'AWS::SSM::Document')) {
      const properties = resource.Properties ?? {};
      if (properties.DocumentFormat !== undefined || typeof properties.Content === 'string') continue;
      resource.Properties = { ...properties, DocumentFormat: 'JSON', Content: JSON.stringify(properties.Content) };
      changed.push(id);
    }
    return changed;
  },
};

/**
 * moto's `AWS::Events::EventBus` has no physical id, so `Ref` to it yields the model object instead of the bus name
 * (a rule on the bus then fails: "'EventBus' object has no attribute 'split'", HTTP 500). In AWS, `Ref` of an event
 * bus is its name, which is exactly `Fn::GetAtt [bus, Name]`, which moto supports.
 */
export const eventBusRef: MotoTransform = {
  name: 'eventBusRef',
  limitation: "moto's Ref of AWS::Events::EventBus yields an object, not the bus name; GetAtt Name is the same value",
  apply: (template) => {
    const buses = new Set(resourcesOfType(template, 'AWS::Events::EventBus').map(([id]) => id));
    const changed = new Set<string>();
    rewrite(template, (node, where) => {
      if (isRef(node) && buses.has(node.Ref)) {
        changed.add(where);
        return { 'Fn::GetAtt': [node.Ref, 'Name'] };
      }
      return undefined;
    });
    return [...changed];
  },
};

/**
 * moto's CloudFormation has no `AWS::Scheduler::ScheduleGroup`, so `Fn::GetAtt [group, Arn]` fails the whole stack
 * ("instance of Fn::GetAtt references undefined resource"): the scheduler roles' trust policies name the group's ARN
 * (aws:SourceArn). The rewrite writes the ARN AWS gives a schedule group,
 * `arn:${Partition}:scheduler:${Region}:${AccountId}:schedule-group/<Name>`, from the group's own Name.
 */
export const scheduleGroupArn: MotoTransform = {
  name: 'scheduleGroupArn',
  limitation: 'moto has no AWS::Scheduler::ScheduleGroup, so GetAtt of its Arn fails the stack; the ARN is formatted',
  apply: (template) => {
    const groups = new Map(
      resourcesOfType(template, 'AWS::Scheduler::ScheduleGroup').map(([id, r]) => [id, r.Properties?.Name]),
    );
    const changed = new Set<string>();
    rewrite(template, (node, where) => {
      if (!isGetAtt(node)) return undefined;
      const [id, attribute] = node['Fn::GetAtt'];
      if (!groups.has(id) || attribute !== 'Arn') return undefined;
      const name = groups.get(id);
      if (typeof name !== 'string')
        throw new Error(`schedule group ${id} has no literal Name: cannot format its ARN for moto`);
      changed.add(where);
      return {
        'Fn::Sub': `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule-group/${name}`,
      };
    });
    return [...changed];
  },
};

/**
 * moto's CloudFormation has no `AWS::Lambda::Url`, and an output reading an attribute of a resource it does not model
 * crashes CreateStack ("'NoneType' object has no attribute 'has_cfn_attr'", HTTP 500). The output (the operator API's
 * URL) is dropped: nothing in moto could answer on it.
 */
export const functionUrlOutput: MotoTransform = {
  name: 'functionUrlOutput',
  limitation: 'moto has no AWS::Lambda::Url, and an output that GetAtts one crashes CreateStack; the output is dropped',
  apply: (template) => {
    const urls = new Set(resourcesOfType(template, 'AWS::Lambda::Url').map(([id]) => id));
    const changed: string[] = [];
    for (const [name, output] of Object.entries<TemplateJson>(template.Outputs ?? {})) {
      const value = output.Value;
      if (isGetAtt(value) && urls.has(value['Fn::GetAtt'][0])) {
        delete template.Outputs[name];
        changed.push(`Outputs.${name}`);
      }
    }
    return changed;
  },
};

/** Every rewrite the control-plane template needs on moto 5.2.1, in the order they apply. */
export const MOTO_TRANSFORMS: readonly MotoTransform[] = [
  ssmDocumentContent,
  eventBusRef,
  scheduleGroupArn,
  functionUrlOutput,
];

/**
 * Resource types moto's CloudFormation skips (logs "No Moto CloudFormation support for ...", creates nothing, and
 * reports the stack CREATE_COMPLETE): what the rehearsal cannot prove, by name. A `Ref` to one of them resolves to
 * nothing in moto; the rewrites above handle the references that would otherwise fail the stack.
 */
export const MOTO_SKIPPED_TYPES: Readonly<Record<string, string>> = {
  'AWS::CloudWatch::Alarm': 'no alarms: nothing in the rehearsal evaluates metrics',
  'AWS::Lambda::EventInvokeConfig': 'no async retry/age settings or on-failure destinations: moto does not run Lambda',
  'AWS::Lambda::Url': 'no Function URL: the operator API is called in-process',
  'AWS::S3::BucketPolicy': 'no bucket policies: moto does not enforce them anyway',
  'AWS::SNS::Subscription': 'no e-mail subscriptions: the rehearsal subscribes its own queue to observe pages',
  'AWS::SNS::TopicPolicy': 'no topic policies: moto does not enforce them anyway',
  'AWS::SQS::QueuePolicy': 'no queue policies: moto does not enforce them anyway',
  'AWS::Scheduler::Schedule': 'no schedules: the rehearsal invokes the probe handler itself',
  'AWS::Scheduler::ScheduleGroup': 'no schedule group (see scheduleGroupArn)',
};

export interface MotoTemplate {
  readonly template: TemplateJson;
  /** What each transform changed, by transform name. */
  readonly applied: Readonly<Record<string, readonly string[]>>;
}

/**
 * A copy of `template` rewritten for moto by `transforms`. Throws when a transform changes nothing: either moto
 * learnt what it works around or the template no longer needs it, and the rewrite must go.
 */
export function templateForMoto(
  template: TemplateJson,
  transforms: readonly MotoTransform[] = MOTO_TRANSFORMS,
): MotoTemplate {
  const copy = structuredClone(template) as TemplateJson;
  const applied: Record<string, string[]> = {};
  for (const transform of transforms) {
    const changed = transform.apply(copy);
    if (changed.length === 0)
      throw new Error(`moto transform ${transform.name} changed nothing: remove it (${transform.limitation})`);
    applied[transform.name] = changed;
  }
  return { template: copy, applied };
}

/** The asset bucket `cdk bootstrap` creates (default qualifier), where the functions' code is published. */
export function assetBucketName(account: string, region: string): string {
  return `cdk-hnb659fds-assets-${account}-${region}`;
}

/** The SSM parameter `cdk bootstrap` writes and every CDK template checks (its CheckBootstrapVersion rule). */
export const BOOTSTRAP_VERSION_PARAMETER = '/cdk-bootstrap/hnb659fds/version';

/** The S3 keys of the functions' code in the asset bucket (the template's `Code.S3Key`s). */
export function functionCodeKeys(template: TemplateJson): string[] {
  return [
    ...new Set(
      resourcesOfType(template, 'AWS::Lambda::Function').map(([id, r]) => {
        const key = r.Properties?.Code?.S3Key;
        if (typeof key !== 'string') throw new Error(`function ${id} has no literal Code.S3Key`);
        return key;
      }),
    ),
  ];
}

export function resourcesOfType(template: TemplateJson, type: string): [string, TemplateJson][] {
  return Object.entries<TemplateJson>(template.Resources ?? {}).filter(([, r]) => r.Type === type);
}

function isRef(node: unknown): node is { Ref: string } {
  return typeof node === 'object' && node !== null && Object.keys(node).length === 1 && 'Ref' in node;
}

function isGetAtt(node: unknown): node is { 'Fn::GetAtt': [string, string] } {
  return (
    typeof node === 'object' &&
    node !== null &&
    Object.keys(node).length === 1 &&
    Array.isArray((node as TemplateJson)['Fn::GetAtt'])
  );
}

/**
 * Replaces, depth first, every node for which `replace` returns a value. `where` is the logical id of the resource
 * (or `Outputs.<name>`) the node is in.
 */
function rewrite(template: TemplateJson, replace: (node: unknown, where: string) => unknown): void {
  const visit = (node: unknown, where: string): unknown => {
    const replacement = replace(node, where);
    if (replacement !== undefined) return replacement;
    if (Array.isArray(node)) return node.map((child) => visit(child, where));
    if (typeof node === 'object' && node !== null)
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v, where)]));
    return node;
  };
  for (const section of ['Resources', 'Outputs'] as const) {
    const entries = template[section] as TemplateJson | undefined;
    if (!entries) continue;
    for (const [id, value] of Object.entries(entries))
      entries[id] = visit(value, section === 'Outputs' ? `Outputs.${id}` : id);
  }
}

export interface MotoStack {
  readonly stackName: string;
  /** Output key -> value, as CloudFormation resolved them. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Logical id -> physical id of every resource moto created. */
  readonly physicalIds: Readonly<Record<string, string>>;
  /** Logical id -> type of every resource moto created. */
  readonly types: Readonly<Record<string, string>>;
  /** What each transform changed. */
  readonly applied: Readonly<Record<string, readonly string[]>>;
}

const CREATE_TIMEOUT_MS = 30_000;

/**
 * Deploys `template` to moto's CloudFormation as `cdk deploy` would after `cdk bootstrap`: the bootstrap version
 * parameter exists, the functions' code is published to the asset bucket (a placeholder object per key: moto stores
 * a function's code but never runs it), and the stack is created from the template rewritten by MOTO_TRANSFORMS.
 * Resolves once the stack is CREATE_COMPLETE; any other final status throws with the stack's failed events.
 */
export async function deployToMoto(
  endpoint: string,
  stackName: string,
  template: TemplateJson,
  parameters: Readonly<Record<string, string>> = {},
): Promise<MotoStack> {
  const aws = awsClientConfig(endpoint);
  const { account, region } = { account: MOTO_ACCOUNT, region: aws.region };
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const bucket = assetBucketName(account, region);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const key of functionCodeKeys(template))
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'code asset placeholder' }));
  await new SSMClient(aws).send(
    new PutParameterCommand({ Name: BOOTSTRAP_VERSION_PARAMETER, Value: '30', Type: 'String' }),
  );

  const { template: body, applied } = templateForMoto(template);
  const cfn = new CloudFormationClient(aws);
  await cfn.send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify(body),
      Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
      Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
    }),
  );
  const deadline = Date.now() + CREATE_TIMEOUT_MS;
  for (;;) {
    const [stack] = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks ?? [];
    const status = stack?.StackStatus ?? 'UNKNOWN';
    if (status === 'CREATE_COMPLETE') {
      const outputs = Object.fromEntries((stack?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
      const resources = (await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName }))).StackResources;
      // moto lists the resources it skipped as entries without an id.
      const created = (resources ?? []).filter((r) => r.LogicalResourceId !== undefined);
      return {
        stackName,
        outputs,
        physicalIds: Object.fromEntries(created.map((r) => [r.LogicalResourceId, r.PhysicalResourceId ?? ''])),
        types: Object.fromEntries(created.map((r) => [r.LogicalResourceId, r.ResourceType ?? ''])),
        applied,
      };
    }
    if (!status.endsWith('_IN_PROGRESS') || Date.now() > deadline) {
      const events = (await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];
      const failed = events
        .filter((e) => e.ResourceStatus?.endsWith('FAILED'))
        .map((e) => `${e.LogicalResourceId}: ${e.ResourceStatusReason}`);
      throw new Error(
        `stack ${stackName} is ${status}, not CREATE_COMPLETE: ${failed.join('; ') || stack?.StackStatusReason}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The account moto answers as. */
export const MOTO_ACCOUNT = '123456789012';

/**
 * A plain request to moto, for the few calls whose SDK client this project does not depend on: moto routes it by the
 * service named in the credential scope and checks no signature.
 */
function motoFetch(endpoint: string, service: string, path: string, init: RequestInit = {}): Promise<Response> {
  const { region, credentials } = awsClientConfig(endpoint);
  const scope = `${credentials.accessKeyId}/20260101/${region}/${service}/aws4_request`;
  return fetch(`${endpoint}${path}`, {
    ...init,
    headers: {
      ...init.headers,
      authorization: `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host, Signature=0`,
    },
  });
}

async function jsonAnswer<T>(what: string, response: Response): Promise<T> {
  const body = await response.text();
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${body}`);
  return JSON.parse(body) as T;
}

/** A function's configuration from moto's Lambda (GetFunctionConfiguration), its resolved environment included. */
export async function functionConfiguration(
  endpoint: string,
  functionName: string,
): Promise<{ readonly Environment?: { readonly Variables?: Record<string, string> } }> {
  const path = `/2015-03-31/functions/${encodeURIComponent(functionName)}/configuration`;
  return jsonAnswer(`GetFunctionConfiguration ${functionName}`, await motoFetch(endpoint, 'lambda', path));
}

/** The messages of every event in a CloudWatch Logs group of moto (FilterLogEvents, first page). */
export async function logMessages(endpoint: string, logGroupName: string): Promise<string[]> {
  const response = await motoFetch(endpoint, 'logs', '/', {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Logs_20140328.FilterLogEvents' },
    body: JSON.stringify({ logGroupName }),
  });
  const answer = await jsonAnswer<{ events?: { message?: string }[] }>(`FilterLogEvents ${logGroupName}`, response);
  return (answer.events ?? []).map((e) => e.message ?? '');
}

/** The inline policies of a role in moto's IAM (ListRolePolicies, GetRolePolicy). */
export async function rolePolicies(endpoint: string, roleName: string): Promise<PolicyDocument[]> {
  const query = async (action: string, parameters: Record<string, string>) => {
    const response = await motoFetch(endpoint, 'iam', '/', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ Action: action, Version: '2010-05-08', ...parameters }).toString(),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`${action} ${roleName}: HTTP ${response.status} ${body}`);
    return body;
  };
  const names = [...(await query('ListRolePolicies', { RoleName: roleName })).matchAll(/<member>([^<]+)<\/member>/g)];
  const documents: PolicyDocument[] = [];
  for (const [, name] of names) {
    const xml = await query('GetRolePolicy', { RoleName: roleName, PolicyName: xmlText(name ?? '') });
    const text = xmlText(/<PolicyDocument>([\s\S]*?)<\/PolicyDocument>/.exec(xml)?.[1] ?? '');
    // AWS URL-encodes the document; moto may not.
    documents.push(JSON.parse(text.trimStart().startsWith('{') ? text : decodeURIComponent(text)) as PolicyDocument);
  }
  return documents;
}

function xmlText(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Starts `count` EC2 instances in moto carrying `tags` (RunInstances) and returns their ids: what the AWS CLI does,
 * without its seconds of start-up on a busy machine.
 */
export async function runInstances(
  endpoint: string,
  count: number,
  tags: Readonly<Record<string, string>>,
): Promise<string[]> {
  const parameters: Record<string, string> = {
    Action: 'RunInstances',
    Version: '2016-11-15',
    ImageId: 'ami-12c6146b',
    MinCount: String(count),
    MaxCount: String(count),
    'TagSpecification.1.ResourceType': 'instance',
  };
  Object.entries(tags).forEach(([key, value], i) => {
    parameters[`TagSpecification.1.Tag.${i + 1}.Key`] = key;
    parameters[`TagSpecification.1.Tag.${i + 1}.Value`] = value;
  });
  const response = await motoFetch(endpoint, 'ec2', '/', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(parameters).toString(),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`RunInstances: HTTP ${response.status} ${body}`);
  const ids = [...body.matchAll(/<instanceId>(i-[0-9a-f]+)<\/instanceId>/g)].map(([, id]) => id ?? '');
  if (ids.length !== count) throw new Error(`RunInstances started ${ids.length} instances, not ${count}: ${body}`);
  return ids;
}
