import { describe, expect, it } from 'vitest';
import {
  DOCUMENT_PARAMETER_KINDS,
  DOCUMENT_PATTERNS,
  type DocumentValueKind,
} from '../../../lambdas/core/document-patterns.ts';
import { VALUES } from '../../support/unit-document-values.ts';
import { loadDocument, DOCUMENT_NAMES as NAMES } from '../../support/unit-ssm-documents.ts';

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
