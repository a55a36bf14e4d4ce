/**
 * The password file of libpq (`~/.pgpass`, or the file PGPASSFILE names), read the way libpq reads it
 * (src/interfaces/libpq/fe-connect.c, passwordFromFile): one `host:port:database:username:password` entry a line;
 * a field written as a bare `*` in any of the first four matches anything; a backslash makes the next character
 * literal (`\:` is `:`, `\\` is `\`, `\*` is a star, not a wildcard); the password runs to the next unescaped `:` or
 * the end of the line; lines starting with `#` and lines with fewer than five fields are skipped; the first matching
 * line wins.
 */

/** One line of the file. A field of `undefined` was written as a bare `*`: it matches anything. */
export interface PgpassEntry {
  readonly host: string | undefined;
  readonly port: string | undefined;
  readonly database: string | undefined;
  readonly user: string | undefined;
  readonly password: string;
}

export interface PgpassQuery {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Every well-formed entry of the file, in order. */
export function parsePgpass(text: string): PgpassEntry[] {
  const entries: PgpassEntry[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '' || line.startsWith('#')) continue;
    const entry = parseLine(line);
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/** The password of the first entry matching the connection, or undefined. */
export function pgpassPassword(entries: readonly PgpassEntry[], query: PgpassQuery): string | undefined {
  const host = query.host.replace(/^\[(.*)\]$/, '$1');
  const port = String(query.port);
  const match = (field: string | undefined, value: string) => field === undefined || field === value;
  return entries.find(
    (e) => match(e.host, host) && match(e.port, port) && match(e.database, query.database) && match(e.user, query.user),
  )?.password;
}

function parseLine(line: string): PgpassEntry | undefined {
  const fields: Array<string | undefined> = [];
  let current = '';
  let escaped = false;
  let wildcard = true;
  for (const c of line) {
    if (escaped) {
      current += c;
      escaped = false;
      wildcard = false;
    } else if (c === '\\') {
      escaped = true;
    } else if (c === ':') {
      fields.push(wildcard && current === '*' ? undefined : current);
      current = '';
      wildcard = true;
      if (fields.length === 5) break;
    } else {
      current += c;
    }
  }
  // A lone backslash at the end of the line stays (libpq unescapes only when a character follows).
  if (escaped) current += '\\';
  if (fields.length === 4) fields.push(current);
  if (fields.length < 5) return undefined;
  const [host, port, database, user] = fields;
  // The password is never a wildcard: a bare `*` there is the password `*`.
  const password = fields[4] ?? '*';
  return { host, port, database, user, password };
}
