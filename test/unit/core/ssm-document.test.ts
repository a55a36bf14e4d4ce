import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_ARCHIVE_DOCUMENT_PARAMETERS } from '../../../lambdas/core/config-archive.ts';
import {
  BACKUP_DOCUMENT_PARAMETERS,
  FLEET_DOCUMENT_PARAMETERS,
  RESTORE_DOCUMENT_PARAMETERS,
  ROLLING_UPDATE_DOCUMENT_PARAMETERS,
  SERVICE_DOCUMENT_PARAMETERS,
} from '../../../lambdas/core/document-parameters.ts';
import {
  parseSsmDocument,
  renderScript,
  type SsmDocument,
  validateParameters,
} from '../../../lambdas/core/ssm-document.ts';
import { GENERATE_COMMAND, generateDocuments, readDocumentSources } from '../../../lib/ssm-document-sources.ts';
import {
  DOCUMENTS_DIR,
  DOCUMENT_FILES as FILES,
  loadDocument as load,
  DOCUMENT_NAMES as NAMES,
  validParameters,
} from '../../support/unit-ssm-documents.ts';

function scriptOf(doc: SsmDocument): string {
  return doc.mainSteps[0].inputs.runCommand.join('\n');
}

/** Characters that would let a value change the script if it ever reached the shell unquoted or broke the quotes. */
const SHELL_METACHARACTERS = [
  "'",
  '"',
  '$',
  '`',
  ';',
  '|',
  '&',
  '<',
  '>',
  '\n',
  '\r',
  '\\',
  '(',
  ')',
  '{',
  '}',
  '*',
  '?',
  '\0',
  '\t',
];

/** A minimal valid document; `edit` changes it before it is serialised. */
function documentText(edit: (doc: Record<string, unknown>) => void = () => {}): string {
  const doc: Record<string, unknown> = {
    schemaVersion: '2.2',
    description: 'test document',
    parameters: {
      Port: { type: 'String', description: 'port', allowedPattern: '^[0-9]{1,5}$' },
      Mode: { type: 'String', description: 'mode', default: 'soft', allowedValues: ['soft', 'hard'] },
    },
    mainSteps: [
      {
        action: 'aws:runShellScript',
        name: 'run',
        inputs: { runCommand: ['#!/bin/bash', 'set -euo pipefail', "PORT='{{ Port }}'", "MODE='{{Mode}}'"] },
      },
    ],
  };
  edit(doc);
  return JSON.stringify(doc, null, 2);
}

function parsedTestDocument(edit?: (doc: Record<string, unknown>) => void): SsmDocument {
  const parsed = parseSsmDocument(documentText(edit));
  if (!parsed.ok) throw new Error(parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  return parsed.document;
}

function problemsOf(text: string) {
  const parsed = parseSsmDocument(text);
  if (parsed.ok) throw new Error('expected the document to be rejected, but it parsed');
  return parsed.problems;
}

describe('the documents in ssm-documents/', () => {
  it('are the ACGS documents, each named in the parameter tables', () => {
    // Assess
    expect(NAMES).toEqual(
      [
        ...Object.keys(SERVICE_DOCUMENT_PARAMETERS),
        ...Object.keys(FLEET_DOCUMENT_PARAMETERS),
        ...Object.keys(BACKUP_DOCUMENT_PARAMETERS),
        ...Object.keys(ROLLING_UPDATE_DOCUMENT_PARAMETERS),
        ...Object.keys(RESTORE_DOCUMENT_PARAMETERS),
        ...Object.keys(CONFIG_ARCHIVE_DOCUMENT_PARAMETERS),
      ].sort(),
    );
  });

  it.each(NAMES)('%s parses as an SSM Command document with one aws:runShellScript step', (name) => {
    // Act
    const doc = load(name);
    // Assess
    expect(doc.schemaVersion).toBe('2.2');
    expect(doc.mainSteps).toHaveLength(1);
    expect(doc.mainSteps[0].action).toBe('aws:runShellScript');
  });

  it.each(NAMES)('%s declares the parameters its table in document-parameters.ts lists', (name) => {
    // Prepare
    const tables: Record<string, readonly string[]> = {
      ...SERVICE_DOCUMENT_PARAMETERS,
      ...FLEET_DOCUMENT_PARAMETERS,
      ...BACKUP_DOCUMENT_PARAMETERS,
      ...ROLLING_UPDATE_DOCUMENT_PARAMETERS,
      ...RESTORE_DOCUMENT_PARAMETERS,
      ...CONFIG_ARCHIVE_DOCUMENT_PARAMETERS,
    };
    // Act
    const declared = Object.keys(load(name).parameters);
    // Assess
    expect(declared.sort()).toEqual([...(tables[name] ?? [])].sort());
  });

  it.each(NAMES)('%s constrains every parameter with an anchored allowedPattern or allowedValues', (name) => {
    // Act
    const doc = load(name);
    // Assess
    for (const [parameter, p] of Object.entries(doc.parameters)) {
      expect(p.allowedPattern !== undefined || p.allowedValues !== undefined, parameter).toBe(true);
      if (p.allowedPattern !== undefined) expect(p.allowedPattern, parameter).toMatch(/^\^.*[^\\]\$$/s);
    }
  });

  it.each(NAMES)('%s runs under bash and starts with set -euo pipefail', (name) => {
    // Act
    const lines = scriptOf(load(name)).split('\n');
    // Assess: SSM runs the script through `sh -c <file>`, so the shebang decides the shell.
    expect(lines[0]).toBe('#!/bin/bash');
    expect(lines[1]).toBe('set -euo pipefail');
  });

  it.each(NAMES)('%s uses only declared placeholders, each assigned once in single quotes', (name) => {
    // Prepare
    const doc = load(name);
    const script = scriptOf(doc);
    // Act
    const placeholders = [...script.matchAll(/\{\{(.*?)\}\}/g)].map((m) => (m[1] ?? '').trim());
    const lines = script.split('\n').filter((line) => line.includes('{{'));
    // Assess
    expect(placeholders.sort()).toEqual(Object.keys(doc.parameters).sort());
    for (const line of lines) expect(line).toMatch(/^[A-Z][A-Z0-9_]*='\{\{ [A-Za-z0-9]+ \}\}'$/);
    expect(script.replace(/\{\{ [A-Za-z0-9]+ \}\}/g, '')).not.toMatch(/\{\{|\}\}/);
  });

  it.each(NAMES)('%s never evaluates a string as code', (name) => {
    // Act
    const script = scriptOf(load(name));
    // Assess
    expect(script).not.toMatch(/\beval\b/);
    expect(script).not.toMatch(/(^|[;&|]|\b(then|do|else)\b)\s*(source|\.)\s/m);
  });

  it('are generated from ssm-documents/src/, and none is stale', () => {
    // Act
    const generated = generateDocuments(readDocumentSources(fileURLToPath(DOCUMENTS_DIR)));
    // Assess
    expect(FILES, `every document needs a source in ssm-documents/src/ (then run \`${GENERATE_COMMAND}\`)`).toEqual(
      Object.keys(generated),
    );
    for (const [file, text] of Object.entries(generated))
      expect(
        readFileSync(new URL(file, DOCUMENTS_DIR), 'utf8'),
        `ssm-documents/${file} is stale: run \`${GENERATE_COMMAND}\``,
      ).toBe(text);
  });

  it.each(NAMES)('%s carries the one acgs-lib, from ssm-documents/src/acgs-lib.sh', (name) => {
    // Prepare
    const library = readFileSync(new URL('src/acgs-lib.sh', DOCUMENTS_DIR), 'utf8');
    // Act
    const script = scriptOf(load(name));
    // Assess
    expect(script.split(library)).toHaveLength(2);
  });

  it.each(NAMES)('%s accepts the sample values and every default', (name) => {
    // Prepare
    const doc = load(name);
    // Act
    const errors = validateParameters(doc, validParameters(name, doc));
    // Assess
    expect(errors).toEqual([]);
    for (const p of Object.values(doc.parameters))
      if (typeof p.default === 'string' && p.allowedPattern) expect(p.default).toMatch(new RegExp(p.allowedPattern));
  });

  it.each(NAMES)('%s rejects a shell metacharacter anywhere in any parameter', (name) => {
    // Prepare
    const doc = load(name);
    const valid = validParameters(name, doc);
    for (const [parameter, value] of Object.entries(valid)) {
      for (const char of SHELL_METACHARACTERS) {
        const middle = Math.floor(value.length / 2);
        for (const candidate of [
          char,
          `${char}${value}`,
          `${value.slice(0, middle)}${char}${value.slice(middle)}`,
          `${value}${char}`,
        ]) {
          // Act
          const errors = validateParameters(doc, { ...valid, [parameter]: candidate });
          // Assess
          expect(
            errors.map((e) => e.parameter),
            `${name}.${parameter} accepted ${JSON.stringify(candidate)}`,
          ).toContain(parameter);
        }
      }
    }
  });

  it.each([
    ['Directory', '/srv/acgs/../../etc'],
    ['Directory', 'services/auth'],
    ['Directory', '/srv/acgs/./auth'],
    ['LogFile', '/srv/acgs/logs/../../../etc/passwd'],
    ['StateDirectory', '../../etc/passwd'],
    ['HealthUrl', 'http://127.0.0.1:8000/../admin'],
    ['HealthUrl', 'file:///etc/passwd'],
    ['StartCommand', '--exec=/bin/sh app'],
    ['Port', '0'],
    ['Port', '65536'],
    ['Port', '08000'],
    ['ServiceName', 'Auth'],
    ['ServiceName', '-auth'],
    ['TimeoutSeconds', '0'],
    ['Force', 'yes'],
  ])('rejects %s %j for acgs-restart-service', (parameter, value) => {
    // Prepare
    const doc = load('acgs-restart-service');
    const params = { ...validParameters('acgs-restart-service', doc), [parameter]: value };
    // Act
    const errors = validateParameters(doc, params);
    // Assess
    expect(errors.map((e) => e.parameter)).toEqual([parameter]);
  });

  it.each([
    ['a directory with ..', 'auth 8000 /srv/../etc /srv/logs/auth.log http://127.0.0.1:8000/health app'],
    ['a missing start command', 'auth 8000 /srv/auth /srv/logs/auth.log http://127.0.0.1:8000/health'],
    ['an empty entry', 'auth 8000 /srv/auth /srv/logs/auth.log http://127.0.0.1:8000/health app,'],
    ['a relative log file', 'auth 8000 /srv/auth logs/auth.log http://127.0.0.1:8000/health app'],
  ])('acgs-start-all rejects Services with %s', (_what, services) => {
    // Act
    const errors = validateParameters(load('acgs-start-all'), { Services: services });
    // Assess
    expect(errors.map((e) => e.parameter)).toEqual(['Services']);
  });
});

describe('parseSsmDocument', () => {
  it('accepts a minimal valid document', () => {
    // Act
    const parsed = parseSsmDocument(documentText());
    // Assess
    expect(parsed.ok).toBe(true);
  });

  it.each([
    [
      'a parameter without allowedPattern or allowedValues',
      (d: Record<string, unknown>) => {
        d.parameters = {
          Port: { type: 'String', description: 'p' },
          Mode: (d.parameters as Record<string, unknown>).Mode,
        };
      },
      'parameters.Port',
      /allowedPattern or allowedValues/,
    ],
    [
      'an unanchored pattern',
      (d: Record<string, unknown>) => {
        (d.parameters as Record<string, Record<string, unknown>>).Port = {
          type: 'String',
          description: 'p',
          allowedPattern: '[0-9]+',
        };
      },
      'parameters.Port.allowedPattern',
      /anchored/,
    ],
    [
      'a pattern that does not compile',
      (d: Record<string, unknown>) => {
        (d.parameters as Record<string, Record<string, unknown>>).Port = {
          type: 'String',
          description: 'p',
          allowedPattern: '^[0-9$',
        };
      },
      'parameters.Port.allowedPattern',
      /not a valid regular expression/,
    ],
    [
      'a default outside allowedValues',
      (d: Record<string, unknown>) => {
        (d.parameters as Record<string, Record<string, unknown>>).Mode = {
          type: 'String',
          description: 'm',
          default: 'x',
          allowedValues: ['soft'],
        };
      },
      'parameters.Mode.default',
      /not one of soft/,
    ],
    [
      'a placeholder that is not a parameter',
      (d: Record<string, unknown>) => {
        const step = (d.mainSteps as { inputs: { runCommand: string[] } }[])[0];
        step?.inputs.runCommand.push("X='{{ Undeclared }}'");
      },
      'mainSteps.0.inputs.runCommand',
      /\{\{ Undeclared \}\} is not a declared parameter/,
    ],
    [
      'a malformed placeholder',
      (d: Record<string, unknown>) => {
        const step = (d.mainSteps as { inputs: { runCommand: string[] } }[])[0];
        step?.inputs.runCommand.push("X='{{ Port }'");
      },
      'mainSteps.0.inputs.runCommand',
      /not a well-formed/,
    ],
    [
      'a parameter the script never uses',
      (d: Record<string, unknown>) => {
        (d.parameters as Record<string, unknown>).Spare = { type: 'String', description: 's', allowedPattern: '^x$' };
      },
      'parameters.Spare',
      /never used/,
    ],
    [
      'another schema version',
      (d: Record<string, unknown>) => {
        d.schemaVersion = '1.2';
      },
      'schemaVersion',
      /2\.2/,
    ],
    [
      'an unknown top-level key',
      (d: Record<string, unknown>) => {
        d.assumeRole = 'arn:aws:iam::1:role/x';
      },
      'assumeRole',
      /unknown key/,
    ],
  ])('rejects %s, naming the field', (_what, edit, path, message) => {
    // Act
    const problems = problemsOf(documentText(edit));
    // Assess
    expect(problems).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }));
  });

  it('rejects a second step', () => {
    // Prepare
    const text = documentText((d) => {
      const steps = d.mainSteps as unknown[];
      steps.push(steps[0]);
    });
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems.map((p) => p.path)).toContain('mainSteps');
  });

  it('reports the line of a YAML problem', () => {
    // Act
    const problems = problemsOf("schemaVersion: '2.2'\ndescription: x\ndescription: y\n");
    // Assess
    expect(problems[0]).toMatchObject({ path: '(yaml)', line: 3 });
  });

  it('reports the line of a problem in a document file', () => {
    // Prepare
    const unanchored = "allowedPattern: '(0|[1-9][0-9]{0,2})'";
    const text = readFileSync(new URL('acgs-stop-service.yaml', DOCUMENTS_DIR), 'utf8').replace(
      'allowedPattern: "^(0|[1-9][0-9]{0,2})$"',
      unanchored,
    );
    const line = text.split('\n').findIndex((l) => l.includes(unanchored)) + 1;
    expect(line).toBeGreaterThan(0);
    // Act
    const problems = problemsOf(text);
    // Assess
    expect(problems).toEqual([expect.objectContaining({ path: 'parameters.GraceSeconds.allowedPattern', line })]);
  });
});

describe('validateParameters', () => {
  const doc = parsedTestDocument();

  it('accepts valid values and leaves a parameter with a default optional', () => {
    // Act & Assess
    expect(validateParameters(doc, { Port: '8000' })).toEqual([]);
  });

  it('names a missing required parameter', () => {
    // Act & Assess
    expect(validateParameters(doc, {})).toEqual([{ parameter: 'Port', message: 'is required' }]);
  });

  it('names an unknown parameter', () => {
    // Act & Assess
    expect(validateParameters(doc, { Port: '1', Service: 'auth' })).toEqual([
      { parameter: 'Service', message: 'is not a parameter of this document' },
    ]);
  });

  it('names a value that does not match the pattern, quoting it', () => {
    // Act & Assess
    expect(validateParameters(doc, { Port: '80; reboot' })).toEqual([
      { parameter: 'Port', message: '"80; reboot" does not match ^[0-9]{1,5}$' },
    ]);
  });

  it('names a value that is not one of the allowed values', () => {
    // Act & Assess
    expect(validateParameters(doc, { Port: '1', Mode: 'medium' })).toEqual([
      { parameter: 'Mode', message: '"medium" is not one of soft, hard' },
    ]);
  });

  it('matches the whole value, not a line of it', () => {
    // Act & Assess
    expect(validateParameters(doc, { Port: '8000\ntouch /tmp/x' }).map((e) => e.parameter)).toEqual(['Port']);
  });

  it('shortens a long hostile value in the message', () => {
    // Act
    const [error] = validateParameters(doc, { Port: 'x'.repeat(500) });
    // Assess
    expect(error?.message.length).toBeLessThan(140);
  });

  it('enforces maxChars', () => {
    // Prepare
    const limited = parsedTestDocument((d) => {
      (d.parameters as Record<string, Record<string, unknown>>).Port = {
        type: 'String',
        description: 'p',
        allowedPattern: '^[0-9]+$',
        maxChars: 5,
      };
    });
    // Act & Assess
    expect(validateParameters(limited, { Port: '123456' })).toEqual([
      { parameter: 'Port', message: 'is 6 characters long, more than the 5 allowed' },
    ]);
  });

  it('checks each item of a StringList given as comma-separated items', () => {
    // Prepare
    const listDoc = parsedTestDocument((d) => {
      (d.parameters as Record<string, Record<string, unknown>>).Port = {
        type: 'StringList',
        description: 'ports',
        allowedPattern: '^[0-9]+$',
        maxItems: 3,
      };
    });
    // Act & Assess
    expect(validateParameters(listDoc, { Port: '80,443' })).toEqual([]);
    expect(validateParameters(listDoc, { Port: '80,x' })).toEqual([
      { parameter: 'Port', message: '"x" does not match ^[0-9]+$' },
    ]);
    expect(validateParameters(listDoc, { Port: '1,2,3,4' })).toEqual([
      { parameter: 'Port', message: 'takes at most 3 items' },
    ]);
  });
});

describe('renderScript', () => {
  it('substitutes every whitespace variant of a placeholder and applies defaults', () => {
    // Prepare
    const doc = parsedTestDocument((d) => {
      const step = (d.mainSteps as { inputs: { runCommand: string[] } }[])[0];
      step?.inputs.runCommand.push("A='{{Port}}' B='{{   Port }}' C='{{ Port\t}}'");
    });
    // Act
    const script = renderScript(doc, { Port: '8000' });
    // Assess
    expect(script).toBe("#!/bin/bash\nset -euo pipefail\nPORT='8000'\nMODE='soft'\nA='8000' B='8000' C='8000'");
  });

  it('does not substitute placeholders inside values', () => {
    // Prepare
    const doc = parsedTestDocument((d) => {
      (d.parameters as Record<string, Record<string, unknown>>).Port = {
        type: 'String',
        description: 'anything',
        allowedPattern: '^.*$',
      };
    });
    // Act
    const script = renderScript(doc, { Port: '{{ Mode }}', Mode: 'hard' });
    // Assess
    expect(script).toContain("PORT='{{ Mode }}'");
    expect(script).toContain("MODE='hard'");
  });

  it('renders a StringList embedded in text as a JSON array, as the SSM agent does', () => {
    // Prepare
    const doc = parsedTestDocument((d) => {
      (d.parameters as Record<string, Record<string, unknown>>).Port = {
        type: 'StringList',
        description: 'ports',
        allowedPattern: '^[0-9]+$',
      };
    });
    // Act & Assess
    expect(renderScript(doc, { Port: '80,443' })).toContain(`PORT='["80","443"]'`);
  });

  it('throws, naming the parameters, instead of rendering invalid values', () => {
    // Prepare
    const doc = parsedTestDocument();
    // Act & Assess
    expect(() => renderScript(doc, { Port: "1'; touch /tmp/x; '" })).toThrow(
      expect.objectContaining({ code: 'SSM_INVALID_PARAMETERS', message: expect.stringContaining('Port "1') }),
    );
  });

  it('renders every shipped document with the sample values', () => {
    for (const name of NAMES) {
      // Prepare
      const doc = load(name);
      const params = validParameters(name, doc);
      // Act
      const script = renderScript(doc, params);
      // Assess
      expect(script, name).not.toContain('{{');
      for (const [parameter, value] of Object.entries(params))
        expect(script, `${name}.${parameter}`).toContain(`'${value}'`);
    }
  });
});
