import type { S3HttpClient } from '../adapters/aws/s3-http.ts';
import { lazyObjectStore } from './lazy-adapters.ts';
import type { AwsRuntime } from './runtime-base.ts';

/**
 * The runtime whose context writes incident reports to the artifact bucket the stack names (`ACGS_REPORT_BUCKET`,
 * encrypted with `ACGS_REPORT_KMS_KEY`): the Lambdas that resolve incidents (the probe's auto-resolve, the operator
 * API, the backups monitor) write the report of each resolution there. Without the variable the runtime is returned
 * as it is and no report is written. `s3` lets tests point the store at moto.
 *
 * The S3 client and store are loaded on the first report, not at cold start: most invocations resolve nothing, and
 * the probe and the operator API would otherwise build the S3 client on every cold start for it.
 */
export function withIncidentReports(runtime: AwsRuntime, s3?: S3HttpClient): AwsRuntime {
  const { ACGS_REPORT_BUCKET: bucket, ACGS_REPORT_KMS_KEY: kmsKeyId } = runtime.env;
  if (bucket === undefined) return runtime;
  const reports = lazyObjectStore(() =>
    import('./incident-report-s3.ts').then(({ incidentReportS3Store }) =>
      incidentReportS3Store({ bucket, kmsKeyId }, s3),
    ),
  );
  return { ...runtime, ctx: { ...runtime.ctx, reports } };
}
