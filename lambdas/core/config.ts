import { type FleetConfig, fleetConfigSchema } from './config-schema.ts';
import { formatYamlProblems, parseYamlWithSchema, type YamlProblem } from './yaml-schema.ts';

/** One problem in a config file, named by its field path and, where the parser knows it, its line. */
export type ConfigProblem = YamlProblem;

export type ConfigParseResult =
  | { readonly ok: true; readonly config: FleetConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Parses and validates a fleet config written in YAML (JSON is valid YAML). Pure: the caller reads the file. */
export function parseFleetConfig(text: string): ConfigParseResult {
  const parsed = parseYamlWithSchema(text, fleetConfigSchema);
  return parsed.ok ? { ok: true, config: parsed.value } : parsed;
}

export function formatConfigProblems(source: string, problems: readonly ConfigProblem[]): string {
  return formatYamlProblems('config', source, problems);
}
