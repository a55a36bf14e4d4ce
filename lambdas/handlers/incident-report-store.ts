import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.ts';
import type { AwsRuntime } from './runtime-base.ts';

/**
 * The runtime whose context writes incident reports to the artifact bucket the stack names (`ACGS_REPORT_BUCKET`,
 * encrypted with `ACGS_REPORT_KMS_KEY`): the Lambdas that resolve incidents (the probe's auto-resolve, the operator
 * API, the backups monitor) write the report of each resolution there. Without the variable the runtime is returned
 * as it is and no report is written. `s3` lets tests point the store at moto.
 */
export function withIncidentReports(runtime: AwsRuntime, s3?: S3Client): AwsRuntime {
  const { ACGS_REPORT_BUCKET: bucket, ACGS_REPORT_KMS_KEY: kmsKeyId } = runtime.env;
  if (bucket === undefined) return runtime;
  const client = s3 ?? runtime.tracer.captureAWSv3Client(new S3Client({}));
  const reports = new S3ObjectStore(client, { bucket, ...(kmsKeyId === undefined ? {} : { kmsKeyId }) });
  return { ...runtime, ctx: { ...runtime.ctx, reports } };
}
