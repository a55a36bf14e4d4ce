/*
 * What the operator API loads with its first backup request (a dynamic import, see ../lazy-adapters.ts): the S3 client
 * and the object store, named, so that esbuild keeps only what they use of the SDK package.
 */
export { S3Client } from '@aws-sdk/client-s3';
export { S3ObjectStore } from '../../adapters/aws/s3-object-store.ts';
