import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  DOCUMENT_PARAMETER_KINDS,
  DOCUMENT_PATTERNS,
  type DocumentValueKind,
} from '../../lambdas/core/document-patterns.ts';
import { parseSsmDocument, SERVICE_LIST_MAX_CHARS, type SsmDocument } from '../../lambdas/core/ssm-document.ts';

const DOCUMENTS_DIR = new URL('../../ssm-documents/', import.meta.url);
const NAMES = readdirSync(DOCUMENTS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();

function loadDocument(name: string): SsmDocument {
  const parsed = parseSsmDocument(readFileSync(new URL(`${name}.yaml`, DOCUMENTS_DIR), 'utf8'));
  if (!parsed.ok) throw new Error(`${name}: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.document;
}

describe('the allowedPattern of every document parameter', () => {
  it('covers every document, and only documents that exist', () => {
    // Act & Assess
    expect(Object.keys(DOCUMENT_PARAMETER_KINDS).sort()).toEqual(NAMES);
  });

  it.each(NAMES)('%s: is the core pattern of the parameter kind', (name) => {
    // Prepare
    const doc = loadDocument(name);
    const kinds = DOCUMENT_PARAMETER_KINDS[name] ?? {};
    // Act
    const mismatches = Object.entries(doc.parameters).flatMap(([parameter, p]) => {
      const kind = kinds[parameter];
      if (p.allowedPattern === undefined) return kind === undefined ? [] : [`${parameter}: no allowedPattern`];
      if (kind === undefined) return [`${parameter}: no kind in DOCUMENT_PARAMETER_KINDS`];
      return p.allowedPattern === DOCUMENT_PATTERNS[kind]
        ? []
        : [`${parameter}: ${p.allowedPattern} is not the ${kind} pattern ${DOCUMENT_PATTERNS[kind]}`];
    });
    const unknown = Object.keys(kinds).filter((parameter) => !Object.hasOwn(doc.parameters, parameter));
    // Assess
    expect(mismatches).toEqual([]);
    expect(unknown).toEqual([]);
  });
});

describe('the Services list of the *-all documents', () => {
  it.each(['acgs-start-all', 'acgs-stop-all', 'acgs-rolling-update'])(
    '%s takes as many characters as the config allows',
    (name) => {
      // Act & Assess
      expect(loadDocument(name).parameters.Services?.maxChars).toBe(SERVICE_LIST_MAX_CHARS);
    },
  );
});

/** Realistic values per kind: what each document parameter of that kind must take, and must refuse. */
const VALUES: Partial<Record<DocumentValueKind, { valid: string[]; invalid: string[] }>> = {
  path: {
    valid: ['/var/lib/acgs-ops', '/home/ops/.pgpass', '/srv/acgs_1.2/logs/auth.log'],
    invalid: ['/', '/var/lib/acgs-ops/', '/var//lib', '/etc/../shadow', '/a/./b', 'relative/path', '/a b', "/a'b"],
  },
  healthUrl: {
    valid: [
      'http://127.0.0.1:8000/health',
      'https://auth.internal/.well-known/health',
      'http://[::1]:8000/',
      'http://localhost:8000',
      'http://h:1/~status/',
    ],
    invalid: [
      'http://h:8000/../admin',
      'http://h:8000/health?x=1',
      'http://h:8000//health',
      'http://-h:1/',
      'ftp://h/',
    ],
  },
  startCommand: {
    valid: ['uvicorn app.main:app --host 0.0.0.0 --port 8000', './run --cpu 50% @prod', '/usr/bin/node server.js'],
    invalid: ['./run; reboot', './run --hosts a,b', './run  x', ' ./run', './run "x"', './run $HOME', './run > log'],
  },
  address: {
    valid: ['127.0.0.1', 'db.internal', '::1', 'fe80::1', '::ffff:10.0.0.1'],
    invalid: ['[::1]', '-db', 'db;reboot', 'db host', ''],
  },
  backupId: {
    valid: ['acgs_pgp_db-20261201T020000Z', '_acgs-20261201T020000Z'],
    invalid: ['-x', 'a.b', 'a/b'],
  },
  dumpSource: {
    valid: ['/var/backups/acgs/_acgs-20261201T020000Z.dump', 's3://acgs-backups/backups/db/db-20261201T020000Z.dump'],
    invalid: ['/var/backups/../db-1.dump', 's3://acgs-backups/../db-1.dump', '/var/backups/db-1.sql'],
  },
};

describe('the patterns of the kinds', () => {
  it.each(Object.entries(VALUES))('%s takes the valid values and refuses the invalid ones', (kind, values) => {
    // Prepare
    const pattern = new RegExp(DOCUMENT_PATTERNS[kind as DocumentValueKind]);
    // Act
    const refused = values.valid.filter((v) => !pattern.test(v));
    const taken = values.invalid.filter((v) => pattern.test(v));
    // Assess
    expect(refused).toEqual([]);
    expect(taken).toEqual([]);
  });
});
