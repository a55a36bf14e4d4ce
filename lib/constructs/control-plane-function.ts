import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, CfnResource, type Duration, type ILocalBundling, Validations } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  LoggingFormat,
  Runtime,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type BuildOptions, buildSync } from 'esbuild';
import { awsHttpChannels } from '../../lambdas/core/aws-channels.ts';
import { bakeFleetConfig } from '../../lambdas/core/baked-config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import { HANDLERS, type HandlerEnvironment, type HandlerName } from '../../lambdas/core/handler-environment.ts';
import { DeadLetterQueue } from './dead-letter-queue.ts';

/**
 * nodejs22.x, not nodejs20.x: Node 20 left LTS maintenance in April 2026 and Lambda deprecates its runtime with it,
 * while 22 is supported into 2027 and is within the project's engines range. Not nodejs24.x yet: 22 is the newest
 * runtime the pinned toolchain (Powertools 2, middy 6, the esbuild target below) is validated for; moving to 24 is a
 * deliberate upgrade with a test pass.
 */
export const HANDLER_RUNTIME = Runtime.NODEJS_22_X;
const ESBUILD_TARGET = 'node22';

/**
 * Context keys of the bundling options (`cdk synth -c sourceMaps=true`): source maps in the deployed bundle (and
 * `--enable-source-maps`, which makes every stack trace slower to build), and esbuild's metafile written beside
 * index.mjs as index.meta.json (what each module weighs; `npm run bench` reads it). Both off by default: a deployed
 * function carries index.mjs alone.
 */
export const SOURCE_MAPS_CONTEXT = 'sourceMaps';
/**
 * `-c xraySdk=true`: bundle Powertools' Tracer with the X-Ray SDK (a subsegment per AWS call, cold-start
 * annotations). Off by default: the bundle gets lambdas/handlers/xray-sdk-off.ts instead (esbuild alias), ~35 KB
 * less zipped and a faster first invocation; Lambda's active tracing records the invocation segments either way.
 */
export const XRAY_SDK_CONTEXT = 'xraySdk';
export const BUNDLE_METAFILE_CONTEXT = 'bundleMetafile';

/** ESM bundles still meet CommonJS dependencies that call `require`; give them one. */
const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface FunctionVpcPlacement {
  readonly vpc: IVpc;
  readonly subnets: readonly ISubnet[];
  readonly securityGroups: readonly ISecurityGroup[];
}

export interface AsyncInvocationOptions {
  /** Lambda's own retries of a failed asynchronous invocation (0-2). */
  readonly retryAttempts: number;
  /** An event older than this is not run any more and goes to the failure queue (60 s - 6 h). */
  readonly maxEventAge: Duration;
}

export interface ControlPlaneFunctionProps {
  readonly handler: HandlerName;
  /** The repository root: entries are `lambdas/handlers/<entry>`, the lock file is `package-lock.json`. */
  readonly projectRoot: string;
  readonly environment: HandlerEnvironment;
  /** The parsed fleet config, baked into the bundle as JSON (`__ACGS_FLEET_CONFIG_JSON__`, see core/baked-config.ts). */
  readonly config: FleetConfig;
  readonly timeout: Duration;
  readonly logRetention: RetentionDays;
  /** @default 256 */
  readonly memorySize?: number;
  /**
   * Concurrency reserved (and capped) for this function; 1 makes runs strictly sequential.
   * @default no reservation
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * How asynchronous invocations are retried; failures go to a dead-letter queue (the function's on-failure
   * destination). `undefined` for a function only ever invoked synchronously (a Function URL), which has no
   * asynchronous failures to catch.
   * @default no async configuration and no queue
   */
  readonly asyncInvocation?: AsyncInvocationOptions;
  /** @default not in a VPC */
  readonly vpc?: FunctionVpcPlacement;
  /**
   * Why the caller grants further actions on `*` (actions without resource-level permissions): added to the reason
   * of this role's AwsSolutions-IAM5[Resource::*] acknowledgement, which otherwise covers only X-Ray.
   * @default X-Ray is the only `*` grant
   */
  readonly unscopedActionsReason?: string;
  /**
   * Whether `ControlPlaneMonitoring` alarms on any error of this function. False only for a function that fails on
   * purpose to be retried (and whose failures after Lambda's retries reach its dead-letter queue, which is alarmed).
   * @default true
   */
  readonly alarmOnErrors?: boolean;
  /**
   * Source maps in the bundle and `NODE_OPTIONS=--enable-source-maps`.
   * @default the context value `sourceMaps` (`-c sourceMaps=true`), else false
   */
  readonly sourceMaps?: boolean;
}

/**
 * One control-plane Lambda with the house defaults: Node 22 on ARM64, an ESM bundle built with the local esbuild
 * (minified, split at dynamic imports: lambdaBundleOptions; source maps only when asked for), the fleet config baked in as JSON, X-Ray tracing, its own log group with the fleet's retention, and its own role that
 * starts with nothing but writing to that log group; callers grant what the use-case needs.
 */
export class ControlPlaneFunction extends Construct {
  readonly fn: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly deadLetterQueue?: DeadLetterQueue;
  readonly handlerName: HandlerName;
  /** The esbuild options the function's code is bundled with (lambdaBundleOptions), baked config included. */
  readonly bundleOptions: BuildOptions;
  /** See ControlPlaneFunctionProps.alarmOnErrors. */
  readonly alarmOnErrors: boolean;

  constructor(scope: Construct, id: string, props: ControlPlaneFunctionProps) {
    super(scope, id);
    this.handlerName = props.handler;
    this.alarmOnErrors = props.alarmOnErrors ?? true;
    if (!this.alarmOnErrors && !props.asyncInvocation)
      throw new Error(`the ${props.handler} Lambda has no dead-letter queue: its errors must be alarmed`);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.handler} Lambda`,
    });
    this.logGroup.grantWrite(this.role);

    if (props.asyncInvocation) {
      this.deadLetterQueue = new DeadLetterQueue(this, 'FailedInvocations', {
        purpose: `asynchronous invocations of the ${props.handler} Lambda that failed or expired`,
      });
    }

    const sourceMaps = props.sourceMaps ?? contextFlag(this, SOURCE_MAPS_CONTEXT);
    const bundle = lambdaBundleOptions({
      projectRoot: props.projectRoot,
      entry: join(props.projectRoot, 'lambdas', 'handlers', HANDLERS[props.handler].entry),
      sourceMaps,
      fleetConfigJson: JSON.stringify(bakeFleetConfig(props.config)),
      httpChannels: awsHttpChannels(props.config.notifications.channels).length > 0,
      xraySdk: contextFlag(this, XRAY_SDK_CONTEXT),
    });
    this.bundleOptions = bundle;
    const metafile = contextFlag(this, BUNDLE_METAFILE_CONTEXT);
    this.fn = new LambdaFunction(this, 'Function', {
      // Bundled by the local esbuild when the stack is synthesized (skipped, as for any asset, when the app's
      // `aws:cdk:bundling-stacks` leaves this stack out); the asset is hashed from what esbuild wrote.
      code: Code.fromAsset(props.projectRoot, {
        assetHashType: AssetHashType.OUTPUT,
        bundling: { image: HANDLER_RUNTIME.bundlingImage, local: new LocalEsbuild(bundle, metafile) },
      }),
      handler: 'index.handler',
      runtime: HANDLER_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: {
        ...definedValues(props.environment),
        ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      ...(props.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
      ...(props.asyncInvocation && this.deadLetterQueue
        ? {
            retryAttempts: props.asyncInvocation.retryAttempts,
            maxEventAge: props.asyncInvocation.maxEventAge,
            onFailure: new SqsDestination(this.deadLetterQueue.queue),
          }
        : {}),
      ...(props.vpc
        ? {
            vpc: props.vpc.vpc,
            vpcSubnets: { subnets: [...props.vpc.subnets] },
            securityGroups: [...props.vpc.securityGroups],
          }
        : {}),
    });

    // CDK makes the function depend on its role and the role's policy (it must not run before its permissions
    // exist); cfn-lint's W3005 flags the role half as redundant with the Role GetAtt. Accepted: generated, harmless.
    const cfnFunction = this.fn.node.defaultChild;
    if (CfnResource.isCfnResource(cfnFunction))
      cfnFunction.addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });

    if (props.vpc) {
      this.role.addManagedPolicy(
        ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'),
      );
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'Lambda manages the network interfaces of a VPC function with these EC2 actions, which take no resource ' +
          'ARNs; the AWS-managed policy is the minimal set and follows changes to what Lambda needs.',
      });
    }
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support no resource-level permissions.' +
        (props.unscopedActionsReason === undefined ? '' : ` ${props.unscopedActionsReason}`),
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is deliberate: the newest runtime the pinned Lambda toolchain is validated for (see HANDLER_RUNTIME); ' +
        'nodejs24.x is a planned upgrade with its own test pass.',
    });
  }
}

/** A boolean context value: `true` or the string `true` (as `-c key=true` gives it). */
function contextFlag(scope: Construct, key: string): boolean {
  const value: unknown = scope.node.tryGetContext(key);
  return value === true || value === 'true';
}

/** The environment without its unset (optional) variables: Lambda takes strings only. */
function definedValues(environment: HandlerEnvironment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * Modules a Lambda bundle replaces (esbuild aliases): the SDK's default credential chain by its first link, the
 * environment, which is where Lambda puts the execution role's credentials (lambdas/handlers/lambda-credentials.ts);
 * and, unless `xraySdk`, Powertools' Tracer by a no-op (lambdas/handlers/xray-sdk-off.ts).
 */
export function bundleAliases(projectRoot: string, options: { readonly xraySdk: boolean }): Record<string, string> {
  const handlers = join(projectRoot, 'lambdas', 'handlers');
  const xraySdkOff = join(handlers, 'xray-sdk-off.ts');
  return {
    '@aws-sdk/credential-provider-node': join(handlers, 'lambda-credentials.ts'),
    ...(options.xraySdk
      ? {}
      : { '@aws-lambda-powertools/tracer/middleware': xraySdkOff, '@aws-lambda-powertools/tracer': xraySdkOff }),
  };
}

export interface LambdaBundleInput {
  readonly projectRoot: string;
  /** The handler module (lambdas/handlers/<entry>). */
  readonly entry: string;
  readonly sourceMaps: boolean;
  /** The baked fleet config (`__ACGS_FLEET_CONFIG_JSON__`); tests bundle without one. */
  readonly fleetConfigJson?: string;
  readonly xraySdk: boolean;
  /**
   * Whether the baked config names HTTP channels (`__ACGS_HTTP_CHANNELS__`, see handlers/runtime-base.ts): without
   * them, the channel router, payloads and Secrets Manager client are left out of the bundle.
   * @default the channels are bundled (tests bundle without a config)
   */
  readonly httpChannels?: boolean;
}

/**
 * The esbuild options of a Lambda bundle (the stack bundles with them; test/unit/bundle-graph.test.ts inspects what
 * they produce): an ESM bundle for Node 22, minified, the pinned SDK clients bundled (pg's optional native binding is
 * never installed), split at dynamic import()s. The entry is `index.mjs`; what the handler loads only when an
 * invocation needs it (the SNS, EventBridge and SSM clients with their adapters: handlers/lazy-adapters.ts) goes to
 * `chunks/`, so that a cold start neither compiles nor runs it. Chunk names carry a hash of their content: the same
 * sources give the same files, and so the same asset hash.
 */
export function lambdaBundleOptions(input: LambdaBundleInput): BuildOptions {
  return {
    absWorkingDir: input.projectRoot,
    entryPoints: { index: input.entry },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    minify: true,
    sourcemap: input.sourceMaps,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    define: {
      ...(input.fleetConfigJson === undefined ? {} : { __ACGS_FLEET_CONFIG_JSON__: input.fleetConfigJson }),
      ...(input.httpChannels === undefined ? {} : { __ACGS_HTTP_CHANNELS__: String(input.httpChannels) }),
    },
    // pg's optional native binding is never installed. bowser (the SDK's browser user-agent parser) is only reached
    // through code that esbuild tree-shakes for Node, but a split bundle would still emit its dynamic import as a
    // 35 KB chunk that nothing loads: left external, it is not bundled at all.
    external: ['pg-native', 'bowser'],
    alias: bundleAliases(input.projectRoot, { xraySdk: input.xraySdk }),
    logLevel: 'warning',
  };
}

/** Bundles a function's code with the esbuild of this checkout (no Docker), `index.meta.json` beside it if asked. */
class LocalEsbuild implements ILocalBundling {
  constructor(
    private readonly options: BuildOptions,
    private readonly metafile: boolean,
  ) {}

  tryBundle(outputDir: string): boolean {
    const result = buildSync({ ...this.options, outdir: outputDir, metafile: this.metafile });
    if (this.metafile) writeFileSync(join(outputDir, 'index.meta.json'), JSON.stringify(result.metafile));
    return true;
  }
}
