import { CONFIG_PATTERN_HINTS, CONFIG_PATTERNS } from './document-patterns.ts';
import { SecretError } from './errors.ts';
import { jsonObject } from './json-object.ts';
import * as z from './zod-mini.ts';

/**
 * Where a secret lives in AWS Secrets Manager, as the config names it: never the value. On one host the same check
 * reads its environment variable or a pgpass file instead (see SecretSource in lambdas/ports.ts).
 */
export const secretRefSchema = z.strictObject({
  /** The secret's name (`acgs-1/postgres`) or ARN. */
  id: z.string().check(
    z.maxLength(600),
    z.regex(new RegExp(CONFIG_PATTERNS.secretId), CONFIG_PATTERN_HINTS.secretId),
    z.refine((id) => id.startsWith('arn:') || id.length <= 512, 'must be at most 512 characters (a secret name)'),
  ),
  /**
   * The field holding the value when the secret is JSON, as RDS and the Secrets Manager rotation functions write it
   * (`{"username": ..., "password": ...}`). @default password (a secret that is not JSON is the value itself)
   */
  field: z.optional(
    z.string().check(z.regex(new RegExp(CONFIG_PATTERNS.secretField), CONFIG_PATTERN_HINTS.secretField)),
  ),
  /** ARN of the customer-managed KMS key encrypting the secret, if not the AWS-managed `aws/secretsmanager`. */
  kmsKeyArn: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^arn:aws[a-z-]{0,20}:kms:[a-z0-9-]{1,30}:[0-9]{12}:key\/[A-Za-z0-9-]{1,64}$/,
          'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
        ),
      ),
  ),
});

export type SecretRef = z.infer<typeof secretRefSchema>;

/** The field read from a JSON secret when the config names none. */
export const DEFAULT_SECRET_FIELD = 'password';

/**
 * The value a secret's stored string stands for: the named field of a JSON object (default `password`), or the
 * whole string when it is not a JSON object and no field is named. The error names the secret and the field, never
 * any part of the value.
 * @throws SecretError when the field is missing, not a string, or named for a plain secret.
 */
export function secretValue(raw: string, ref: Pick<SecretRef, 'id' | 'field'>): string {
  const parsed = jsonObject(raw);
  if (parsed === undefined) {
    if (ref.field === undefined) return raw;
    throw new SecretError(`secret ${ref.id} is not a JSON object, but the config names its field "${ref.field}"`);
  }
  const field = ref.field ?? DEFAULT_SECRET_FIELD;
  const value = parsed[field];
  if (typeof value !== 'string' || value === '')
    throw new SecretError(
      `secret ${ref.id} is JSON without a non-empty string field "${field}" (fields: ${Object.keys(parsed).sort().join(', ') || 'none'})`,
    );
  return value;
}

/**
 * The IAM resource of a secret: an ARN as given (the complete ARN the console shows, suffix included); a name
 * followed by `-??????`, the six characters Secrets Manager appends, so that the grant covers exactly that secret and
 * none whose name merely starts the same (`acgs-1/postgres-admin`).
 */
export function secretResourceArn(id: string, scope: { partition: string; region: string; account: string }): string {
  if (id.startsWith('arn:')) return id;
  return `arn:${scope.partition}:secretsmanager:${scope.region}:${scope.account}:secret:${id}-??????`;
}
