import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

/** The shipped config's text (it has every section, backups included). */
export const SHIPPED_CONFIG = readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8');

/** The shipped config with `value` written at the dotted `path`, as YAML text. */
export function shippedConfigWith(path: string, value: unknown): string {
  const config = parse(SHIPPED_CONFIG) as Record<string, unknown>;
  const keys = path.split('.');
  const last = keys.pop();
  let node: Record<string, unknown> = config;
  for (const key of keys) node = node[key] as Record<string, unknown>;
  if (last === undefined) throw new Error('empty path');
  node[last] = value;
  return stringify(config);
}
