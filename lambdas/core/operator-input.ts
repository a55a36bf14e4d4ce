import { CONTROL_BUT_NEWLINE_AND_TAB, HAS_CONTROL } from './control-characters.ts';
import { DOCUMENT_PATTERNS } from './document-patterns.ts';
import { UsageError } from './errors.ts';
import * as z from './zod-mini.ts';

/**
 * What operators may type into the control plane (incident titles, notes, reasons, service lists, their names),
 * bounded and free of anything a terminal would act on. The same rules serve the operator API (400) and the CLI
 * (exit 64, naming the flag); `escapeControlCharacters` renders what was stored before they existed. zod/mini, as are
 * the API's routes: classic zod's methods are the operator API's largest import.
 */

/** At most this many services in one declared incident (ACGS-1 has 7; the DynamoDB key holds them all). */
export const MAX_DECLARED_SERVICES = 32;
export const MAX_TITLE_LENGTH = 200;
export const MAX_NOTE_LENGTH = 500;
export const MAX_REASON_LENGTH = 1000;
/** Who acts: an IAM principal ARN in AWS (a user's path may be long), a login name or `--by` locally. */
export const MAX_CALLER_LENGTH = 1024;

/** The config's (and the documents') service names: lower-case letters, digits and dashes, 2-40 characters. */
const SERVICE_NAME = new RegExp(DOCUMENT_PATTERNS.serviceName);

const bounded = (max: number) =>
  z
    .string()
    .check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(max, `must be at most ${max} characters`));

/** One line: a title, a name. No control character at all. */
export const singleLineText = (max: number) =>
  bounded(max).check(
    z.refine((s) => !HAS_CONTROL.test(s), 'must be one line without control characters or escape codes'),
  );

/** Free text (a note, a reason): newlines and tabs are kept, any other control character is refused. */
export const multiLineText = (max: number) =>
  bounded(max).check(
    z.refine(
      (s) => !CONTROL_BUT_NEWLINE_AND_TAB.test(s),
      'must hold no control characters (but newlines and tabs) or escape codes',
    ),
  );

/** Services named by an operator: valid names, each once, at most `MAX_DECLARED_SERVICES`. */
export const serviceNames = z
  .array(z.string().check(z.regex(SERVICE_NAME, 'must be a service name (lower-case letters, digits and dashes)')))
  .check(
    z.maxLength(MAX_DECLARED_SERVICES, `at most ${MAX_DECLARED_SERVICES} services per incident`),
    z.superRefine((names, ctx) => {
      const twice = names.find((name, i) => names.indexOf(name) !== i);
      if (twice !== undefined) ctx.addIssue({ code: 'custom', message: `"${twice}" is listed twice` });
    }),
  );

export const incidentTitle = singleLineText(MAX_TITLE_LENGTH);
export const incidentNote = multiLineText(MAX_NOTE_LENGTH);
export const incidentReason = multiLineText(MAX_REASON_LENGTH);
export const callerName = singleLineText(MAX_CALLER_LENGTH);

/**
 * Validates operator input, or a `UsageError` naming each field (as `name` for a bare value) and what it must
 * be. `fieldName` lets the CLI name its flags instead of the API's fields. Takes a zod/mini or a classic schema.
 */
export function checkInput<T extends z.core.$ZodType>(
  schema: T,
  value: unknown,
  name = 'body',
  fieldName: (path: string) => string = (path) => path,
): z.output<T> {
  const parsed = z.safeParse(schema, value);
  if (!parsed.success)
    throw new UsageError(
      parsed.error.issues.map((i) => `${fieldName(i.path.map(String).join('.') || name)}: ${i.message}`).join('; '),
    );
  return parsed.data;
}
