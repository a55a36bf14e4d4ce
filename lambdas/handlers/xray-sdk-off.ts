import type { Tracer as PowertoolsTracer } from '@aws-lambda-powertools/tracer';

/**
 * What a Lambda bundle gets for `@aws-lambda-powertools/tracer` (and its `/middleware`) unless it is synthesized with
 * `-c xraySdk=true` (an esbuild alias set by ControlPlaneFunction; tests and the local runtime use the real one).
 * The X-Ray SDK that Powertools' Tracer wraps is a quarter of the import cost of a bundle's first invocation and
 * ~35 KB of every zip; without it Lambda's active tracing still records each invocation's segments (initialization,
 * invocation, overhead), only the subsegments per AWS call and the handler's annotations are missing.
 * Every method of the Tracer the control plane calls exists here and does nothing.
 */
export class Tracer {
  /** The client itself, not instrumented. */
  captureAWSv3Client<T>(client: T): T {
    return client;
  }

  isTracingEnabled(): boolean {
    return false;
  }

  getSegment(): undefined {
    return undefined;
  }

  putAnnotation(_key: string, _value: unknown): void {}

  putMetadata(_key: string, _value: unknown, _namespace?: string): void {}

  addErrorAsMetadata(_error: Error, _remote?: boolean): void {}

  addResponseAsMetadata(_data?: unknown, _methodName?: string): void {}

  annotateColdStart(): void {}

  addServiceNameAnnotation(): void {}
}

/** The middy middleware `captureLambdaHandler` becomes: nothing to open or close. */
export function captureLambdaHandler(_tracer: PowertoolsTracer | Tracer, _options?: unknown) {
  return { before: async (): Promise<void> => {} };
}
