import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseFleetConfig } from '../../lambdas/core/config.ts';
import type { FleetConfig } from '../../lambdas/core/config-schema.ts';
import {
  BACKUP_DOCUMENT_PARAMETERS,
  FLEET_DOCUMENT_PARAMETERS,
  fleetCommandParameters,
  ROLLING_UPDATE_DOCUMENT_PARAMETERS,
  rollingUpdateParameters,
  SERVICE_DOCUMENT_PARAMETERS,
  serviceCommandParameters,
} from '../../lambdas/core/document-parameters.ts';
import { NotFoundError } from '../../lambdas/core/errors.ts';
import {
  parseSsmDocument,
  renderScript,
  type SsmDocument,
  validateParameters,
} from '../../lambdas/core/ssm-document.ts';
import { GENERATE_COMMAND, generateDocuments, readDocumentSources } from '../../lib/ssm-document-sources.ts';

const DOCUMENTS_DIR = new URL('../../ssm-documents/', import.meta.url);
const FILES = readdirSync(DOCUMENTS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const NAMES = FILES.map((f) => f.replace(/\.yaml$/, ''));

function load(name: string): SsmDocument {
  const parsed = parseSsmDocument(readFileSync(new URL(`${name}.yaml`, DOCUMENTS_DIR), 'utf8'));
  if (!parsed.ok) throw new Error(`${name}: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  return parsed.document;
}

function scriptOf(doc: SsmDocument): string {
  return doc.mainSteps[0].inputs.runCommand.join('\n');
}

/** A valid value for every parameter name the documents use. */
const VALID: Record<string, string> = {
  ServiceName: 'auth',
  Port: '8000',
  Directory: '/home/ops/ACGS-1/services/platform/authentication/auth_service',
  StartCommand: 'uvicorn app.main:app --host 0.0.0.0 --port 8000',
  LogFile: '/home/ops/ACGS-1/logs/auth_service.log',
  HealthUrl: 'http://127.0.0.1:8000/health',
  TimeoutSeconds: '60',
  GraceSeconds: '10',
  StateDirectory: '/var/lib/acgs-ops',
  Force: 'false',
  LogLines: '100',
  DatabaseHost: '127.0.0.1',
  DatabasePort: '5432',
  RedisHost: 'redis.internal',
  RedisPort: '6379',
  DatabaseName: 'acgs_pgp_db',
  DatabaseUser: 'acgs_user',
  PgpassFile: '/etc/acgs-ops/pgpass',
  PasswordSecretId: 'acgs-1/postgres',
  PasswordSecretField: 'password',
  Destination: '/var/backups/acgs-pgp',
  BackupId: 'acgs_pgp_db-20261201T020000Z',
  MinSizeBytes: '1024',
  KmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  PgBinDir: '/usr/lib/postgresql/15/bin',
  Source: 's3://acgs-backups/backups/acgs_pgp_db/acgs_pgp_db-20261201T020000Z.dump',
  ExpectedSha256: 'd3c0e679def75e96baf2afc217c287be75d35919cc38a9b57efec986ca2da602',
  ExpectedTableDataEntries: '42',
  ScratchDatabase: 'acgs_restore_drill',
  ProductionDatabase: 'acgs_pgp_db',
  StartedAt: '2026-12-01T02:00:00Z',
};
const VALID_BY_DOCUMENT: Record<string, Record<string, string>> = {
  'acgs-start-all': {
    Services:
      'auth 8000 /srv/acgs/auth /srv/acgs/logs/auth.log http://127.0.0.1:8000/health uvicorn app.main:app --port 8000,' +
      'fv 8003 /srv/acgs/fv /srv/acgs/logs/fv.log http://127.0.0.1:8003/health uvicorn main:app --port 8003',
  },
  'acgs-stop-all': { Services: 'auth 8000,fv 8003' },
};

function validParameters(name: string, doc: SsmDocument): Record<string, string> {
  const values: Record<string, string> = {};
  for (const parameter of Object.keys(doc.parameters)) {
    const value = VALID_BY_DOCUMENT[name]?.[parameter] ?? VALID[parameter];
    if (value === undefined) throw new Error(`test has no valid sample for ${name}.${parameter}`);
    values[parameter] = value;
  }
  return values;
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
  it('are the eight ACGS documents, each named in the parameter tables', () => {
    // Assess
    expect(NAMES).toEqual(
      [
        ...Object.keys(SERVICE_DOCUMENT_PARAMETERS),
        ...Object.keys(FLEET_DOCUMENT_PARAMETERS),
        ...Object.keys(BACKUP_DOCUMENT_PARAMETERS),
        ...Object.keys(ROLLING_UPDATE_DOCUMENT_PARAMETERS),
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
    for (const line of lines) expect(line).toMatch(/^[A-Z_]+='\{\{ [A-Za-z0-9]+ \}\}'$/);
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

describe('serviceCommandParameters', () => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1.yaml is invalid');
  const config: FleetConfig = parsed.config;

  it('gives the restart document everything it needs for a service, paths under fleet.root', () => {
    // Act
    const params = serviceCommandParameters(config, 'fv');
    // Assess
    expect(params).toEqual({
      ServiceName: 'fv',
      Port: '8003',
      Directory: '/home/dislove/ACGS-1/services/core/formal-verification/fv_service',
      StartCommand: 'uvicorn main:app --host 0.0.0.0 --port 8003',
      LogFile: '/home/dislove/ACGS-1/logs/fv_service.log',
      HealthUrl: 'http://127.0.0.1:8003/health',
      // remediation.restartTimeout 5m, less the 10 s grace and a 10 s margin
      TimeoutSeconds: '280',
      GraceSeconds: '10',
      StateDirectory: '/var/lib/acgs-ops',
      Force: 'false',
    });
  });

  it.each(Object.keys(SERVICE_DOCUMENT_PARAMETERS) as (keyof typeof SERVICE_DOCUMENT_PARAMETERS)[])(
    'produces parameters %s accepts for every ACGS-1 service',
    (document) => {
      // Prepare
      const doc = load(document);
      for (const service of config.services) {
        // Act
        const params = serviceCommandParameters(config, service.name, { document });
        // Assess
        expect(validateParameters(doc, params), `${document} for ${service.name}`).toEqual([]);
        expect(Object.keys(params).sort()).toEqual(Object.keys(doc.parameters).sort());
      }
    },
  );

  it('fills the diagnostics dependencies from the postgres and redis checks', () => {
    // Act
    const params = serviceCommandParameters(config, 'auth', { document: 'acgs-collect-diagnostics', logLines: 50 });
    // Assess
    expect(params).toMatchObject({ DatabasePort: '5432', RedisPort: '6379', LogLines: '50' });
  });

  it('passes the options through', () => {
    // Act
    const params = serviceCommandParameters(config, 'auth', {
      document: 'acgs-start-service',
      timeoutSeconds: 30,
      stateDirectory: '/srv/state',
      force: true,
    });
    // Assess
    expect(params).toMatchObject({ TimeoutSeconds: '30', StateDirectory: '/srv/state', Force: 'true' });
  });

  it('joins relative paths to fleet.root and keeps absolute ones, without trailing slashes', () => {
    // Prepare
    const [auth] = config.services;
    if (!auth) throw new Error('config has no services');
    const edited: FleetConfig = {
      ...config,
      fleet: { ...config.fleet, root: '/srv/acgs/' },
      services: [{ ...auth, directory: './services/auth/', logFile: '/var/log/acgs/auth.log' }],
    };
    // Act
    const params = serviceCommandParameters(edited, 'auth');
    // Assess
    expect(params).toMatchObject({ Directory: '/srv/acgs/services/auth', LogFile: '/var/log/acgs/auth.log' });
  });

  it('leaves a start command the documents cannot run safely for validation to reject, naming it', () => {
    // Prepare
    const [auth] = config.services;
    if (!auth) throw new Error('config has no services');
    const edited: FleetConfig = { ...config, services: [{ ...auth, start: 'uvicorn app:app --log-config "a b.ini"' }] };
    // Act
    const errors = validateParameters(load('acgs-restart-service'), serviceCommandParameters(edited, 'auth'));
    // Assess
    expect(errors.map((e) => e.parameter)).toEqual(['StartCommand']);
  });

  it('throws NotFoundError for a service the fleet does not have', () => {
    // Act & Assess
    expect(() => serviceCommandParameters(config, 'nope')).toThrow(NotFoundError);
  });

  it.each(['acgs-start-all', 'acgs-stop-all'] as const)(
    'lists all seven services in a value %s accepts',
    (document) => {
      // Act
      const params = fleetCommandParameters(config, document);
      // Assess
      expect(validateParameters(load(document), params)).toEqual([]);
      expect(params.Services?.split(',').map((entry) => entry.split(' ')[0])).toEqual([
        'auth',
        'ac',
        'integrity',
        'fv',
        'gs',
        'pgc',
        'ec',
      ]);
    },
  );

  it('encodes each service as name port directory logFile healthUrl startCommand', () => {
    // Act
    const params = fleetCommandParameters(config, 'acgs-start-all', { services: ['ec'] });
    // Assess
    expect(params).toEqual({
      Services:
        'ec 8006 /home/dislove/ACGS-1/services/core/evolutionary-computation /home/dislove/ACGS-1/logs/ec_service.log ' +
        'http://127.0.0.1:8006/health uvicorn app.main:app --host 0.0.0.0 --port 8006',
      TimeoutSeconds: '280',
      StateDirectory: '/var/lib/acgs-ops',
    });
  });
});

// ---- acgs-rolling-update: sample values for the generic document checks above, and its parameter builder ----

VALID_BY_DOCUMENT['acgs-rolling-update'] = {
  Services: VALID_BY_DOCUMENT['acgs-start-all']?.Services ?? '',
  Update: 'git-pull',
  Branch: 'release/2026.1',
};

describe('acgs-rolling-update parameters', () => {
  const parsed = parseFleetConfig(readFileSync(new URL('../../config/acgs-1.yaml', import.meta.url), 'utf8'));
  if (!parsed.ok) throw new Error('config/acgs-1.yaml is invalid');
  const config: FleetConfig = parsed.config;

  it('lists every service in config order, in a value the document accepts, restart-only on main by default', () => {
    // Act
    const params = rollingUpdateParameters(config);
    // Assess
    expect(validateParameters(load('acgs-rolling-update'), params)).toEqual([]);
    expect(Object.keys(params).sort()).toEqual(Object.keys(load('acgs-rolling-update').parameters).sort());
    expect(params).toMatchObject({
      Update: 'restart-only',
      Branch: 'main',
      TimeoutSeconds: '280',
      GraceSeconds: '10',
      StateDirectory: '/var/lib/acgs-ops',
    });
    expect(params.Services?.split(',').map((entry) => entry.split(' ')[0])).toEqual([
      'auth',
      'ac',
      'integrity',
      'fv',
      'gs',
      'pgc',
      'ec',
    ]);
  });

  it('passes the services, in the given order, and the options through', () => {
    // Act
    const params = rollingUpdateParameters(config, {
      services: ['pgc', 'auth'],
      update: 'git-pull',
      branch: 'release/2026.1',
      graceSeconds: 3,
      timeoutSeconds: 45,
      stateDirectory: '/srv/state',
    });
    // Assess
    expect(validateParameters(load('acgs-rolling-update'), params)).toEqual([]);
    expect(params).toMatchObject({
      Update: 'git-pull',
      Branch: 'release/2026.1',
      GraceSeconds: '3',
      TimeoutSeconds: '45',
      StateDirectory: '/srv/state',
    });
    expect(params.Services?.split(',').map((entry) => entry.split(' ')[0])).toEqual(['pgc', 'auth']);
  });

  it.each([
    ['Update', 'git-pull --rebase'],
    ['Update', 'fetch'],
    ['Branch', '-upload-pack=touch'],
    ['Branch', 'main..evil'],
    ['Branch', 'main/'],
    ['Branch', '/main'],
    ['Branch', 'feature//x'],
    ['Branch', '.hidden'],
    ['Branch', 'main.'],
    ['Branch', 'main@{1}'],
    ['Branch', 'main:refs/heads/x'],
    ['Branch', 'main ~1'],
    ['GraceSeconds', '1000'],
    ['TimeoutSeconds', '0'],
  ])('rejects %s %j', (parameter, value) => {
    // Prepare
    const doc = load('acgs-rolling-update');
    const params = { ...validParameters('acgs-rolling-update', doc), [parameter]: value };
    // Act
    const errors = validateParameters(doc, params);
    // Assess
    expect(errors.map((e) => e.parameter)).toEqual([parameter]);
  });

  it('throws NotFoundError for a service the fleet does not have', () => {
    // Act & Assess
    expect(() => rollingUpdateParameters(config, { services: ['nope'] })).toThrow(NotFoundError);
  });
});
