/**
 * `npm run documents`: writes every SSM document of ssm-documents/ from its source in ssm-documents/src/ (see
 * lib/ssm-document-sources.ts), names the files it changed, and fails for a document that has no source.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDocuments, readDocumentSources } from '../lib/ssm-document-sources.ts';

const DOCUMENTS_DIR = fileURLToPath(new URL('../ssm-documents/', import.meta.url));

function current(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const documents = generateDocuments(readDocumentSources(DOCUMENTS_DIR));
let changed = 0;
for (const [file, text] of Object.entries(documents)) {
  const path = join(DOCUMENTS_DIR, file);
  if (current(path) === text) continue;
  writeFileSync(path, text);
  process.stdout.write(`wrote ssm-documents/${file}\n`);
  changed += 1;
}
process.stdout.write(`${Object.keys(documents).length} documents, ${changed} changed\n`);
const orphans = readdirSync(DOCUMENTS_DIR).filter((file) => file.endsWith('.yaml') && !(file in documents));
for (const file of orphans)
  process.stderr.write(`ssm-documents/${file} has no source: add ssm-documents/src/${file} or delete it\n`);
if (orphans.length > 0) process.exitCode = 1;
