import type { Tracer } from '@aws-lambda-powertools/tracer';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.ts';
import type { ObjectStore } from '../ports.ts';

/**
 * The incident report store on the artifact bucket. Its own module, imported on the first report
 * (incident-report-store.ts): named imports keep the bundle's S3 SDK to what the store uses, and the module is only
 * evaluated when a report is written.
 */
export function incidentReportS3Store(
  options: { readonly bucket: string; readonly kmsKeyId?: string | undefined },
  tracer: Tracer,
  s3?: S3Client,
): ObjectStore {
  const client = s3 ?? tracer.captureAWSv3Client(new S3Client({}));
  return new S3ObjectStore(client, {
    bucket: options.bucket,
    ...(options.kmsKeyId === undefined ? {} : { kmsKeyId: options.kmsKeyId }),
  });
}
