import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BACKUP_DOCUMENT,
  DOCUMENT_HOSTS,
  DRILL_DOCUMENT,
  RESTART_DOCUMENT,
} from '../../../lambdas/core/document-names.ts';

const DOCUMENTS_DIR = fileURLToPath(new URL('../../../ssm-documents/', import.meta.url));

describe('DOCUMENT_HOSTS', () => {
  it('declares a host for exactly the documents of ssm-documents/ when read against the directory', () => {
    // Prepare
    const files = readdirSync(DOCUMENTS_DIR)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length));

    // Act
    const declared = Object.keys(DOCUMENT_HOSTS);

    // Assess
    expect(declared.sort()).toEqual(files.sort());
  });

  it('routes the backup documents to the database host and the restart to the fleet when looked up', () => {
    // Assess
    expect(DOCUMENT_HOSTS[BACKUP_DOCUMENT]).toBe('database-host');
    expect(DOCUMENT_HOSTS[DRILL_DOCUMENT]).toBe('database-host');
    expect(DOCUMENT_HOSTS[RESTART_DOCUMENT]).toBe('fleet');
  });
});
