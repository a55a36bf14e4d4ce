/**
 * What each check depends on: the checks named in its `dependsOn`, and, for a `prometheus` query check, implicitly
 * the `http` check of the Prometheus server it queries (the http check whose URL has the same origin: scheme, host
 * and port). A Prometheus that is down makes its queries unreadable; declaring that again on every query would be
 * one more thing to forget. A query on a server no http check watches has no implicit dependency (name one in
 * `dependsOn`, which is always honoured as well).
 */

/** The part of a check the dependencies are read from (a parsed `CheckConfig` fits). */
export interface DependencyCheck {
  readonly name: string;
  readonly kind: string;
  readonly url?: string;
  readonly dependsOn?: readonly string[] | undefined;
}

/** Check name -> the names of the checks it depends on directly (declared first, then implicit), in config order. */
export function checkDependencies(checks: readonly DependencyCheck[]): Map<string, string[]> {
  const servers = new Map<string, string[]>();
  for (const c of checks) {
    const origin = c.kind === 'http' ? originOf(c.url) : undefined;
    if (origin !== undefined) servers.set(origin, [...(servers.get(origin) ?? []), c.name]);
  }
  return new Map(
    checks.map((c) => {
      const implicit = c.kind === 'prometheus' ? (servers.get(originOf(c.url) ?? '') ?? []) : [];
      return [c.name, [...new Set([...(c.dependsOn ?? []), ...implicit])].filter((d) => d !== c.name)];
    }),
  );
}

/**
 * A dependency cycle among the checks, as the names along it (first name repeated at the end), or undefined.
 * Names that are not checks are ignored here (the schema reports them on their own).
 */
export function dependencyCycle(dependencies: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const at = onPath.indexOf(name);
    if (at >= 0) return [...onPath.slice(at), name];
    if (done.has(name) || !dependencies.has(name)) return undefined;
    onPath.push(name);
    for (const next of dependencies.get(name) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    onPath.pop();
    done.add(name);
    return undefined;
  };
  for (const name of dependencies.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
