import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const BASE = parse(readFileSync(new URL('../fixtures/three-service-fleet.yaml', import.meta.url), 'utf8')) as Record<
  string,
  unknown
> & { thresholds: Record<string, unknown> };

export interface TestService {
  readonly name: string;
  readonly port: number;
  readonly critical?: boolean;
}

/**
 * A complete fleet config (escalation, schedules... from test/fixtures/three-service-fleet.yaml) whose services
 * live on 127.0.0.1 at the given ports, with the given checks and probe thresholds.
 */
export function fleetYaml(options: {
  readonly services: readonly TestService[];
  readonly checks?: readonly Record<string, unknown>[];
  readonly probeTimeout?: string;
  readonly probeLatency?: string;
  readonly probeConcurrency?: number;
}): string {
  return stringify({
    ...BASE,
    services: options.services.map((s) => ({
      name: s.name,
      displayName: s.name,
      host: '127.0.0.1',
      port: s.port,
      critical: s.critical ?? true,
      directory: s.name,
      start: `./${s.name}`,
      logFile: `logs/${s.name}.log`,
    })),
    checks: options.checks ?? [],
    thresholds: {
      ...BASE.thresholds,
      probeTimeout: options.probeTimeout ?? '1500ms',
      probeLatency: options.probeLatency ?? '300ms',
      probeConcurrency: options.probeConcurrency ?? 64,
    },
  });
}

/** A temporary directory for config files; `remove()` deletes it. */
export async function configDir(): Promise<{
  write(name: string, text: string): Promise<string>;
  remove(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'acgs-ops-test-'));
  return {
    write: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
