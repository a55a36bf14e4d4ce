import { S3HttpClient } from '../adapters/aws/s3-http.ts';
import { S3ObjectStore } from '../adapters/aws/s3-object-store.ts';
import type { ObjectStore } from '../ports.ts';

/**
 * The incident report store on the artifact bucket. Its own module, imported on the first report
 * (incident-report-store.ts): the module is only evaluated when a report is written.
 */
export function incidentReportS3Store(
  options: { readonly bucket: string; readonly kmsKeyId?: string | undefined },
  s3?: S3HttpClient,
): ObjectStore {
  return new S3ObjectStore(s3 ?? new S3HttpClient(), {
    bucket: options.bucket,
    ...(options.kmsKeyId === undefined ? {} : { kmsKeyId: options.kmsKeyId }),
  });
}
