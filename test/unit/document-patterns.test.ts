import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCUMENT_PARAMETER_KINDS, DOCUMENT_PATTERNS } from '../../lambdas/core/document-patterns.ts';
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
