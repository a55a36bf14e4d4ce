import type { SnapshotSerializer } from 'vitest';

/**
 * A snapshot serializer for synthesized templates: asset hashes (64 hex digits: bundle and template asset keys) are
 * replaced by `[ASSET HASH]`, and SSM document contents by a pointer to their file (they are compared with the files
 * themselves elsewhere, and would otherwise make every script edit a snapshot change). What remains is the shape of
 * the stack.
 */
export const maskedTemplateSerializer: SnapshotSerializer = {
  test: (value: unknown) => isTemplate(value),
  serialize: (value: unknown, config, indentation, depth, refs, printer) =>
    printer(maskTemplate(value), config, indentation, depth, refs),
};

/** The template with its volatile values masked (what the serializer prints). */
export function maskTemplate(template: unknown): unknown {
  return mask(template, undefined);
}

/** Objects this serializer produced: printed as they are, never masked again. */
const MASKED = new WeakSet<object>();
const ASSET_HASH = /[0-9a-f]{64}/g;

function isTemplate(value: unknown): value is { Resources: Record<string, unknown> } {
  return (
    typeof value === 'object' &&
    value !== null &&
    !MASKED.has(value) &&
    'Resources' in value &&
    typeof value.Resources === 'object'
  );
}

function mask(value: unknown, resourceType: string | undefined): unknown {
  if (typeof value === 'string') return value.replace(ASSET_HASH, '[ASSET HASH]');
  if (Array.isArray(value)) return value.map((v) => mask(v, resourceType));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (resourceType === 'AWS::SSM::Document' && key === 'Content') {
      out[key] = '[document content: see ssm-documents/]';
      continue;
    }
    const type =
      typeof v === 'object' && v !== null && 'Type' in v && typeof v.Type === 'string' ? v.Type : resourceType;
    out[key] = mask(v, key === 'Properties' ? resourceType : type);
  }
  MASKED.add(out);
  return out;
}
