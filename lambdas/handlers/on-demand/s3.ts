/*
 * What the operator API loads with its first backup request (a dynamic import, see ../lazy-adapters.ts): the S3 client
 * and the object store.
 */
export { S3HttpClient } from '../../adapters/aws/s3-http.ts';
export { S3ObjectStore } from '../../adapters/aws/s3-object-store.ts';
