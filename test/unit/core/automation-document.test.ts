import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  type AutomationDocument,
  choiceHolds,
  parseAutomationDocument,
  parseIsoDuration,
  patternExcludesQuotes,
  resolveParameters,
  substitute,
} from '../../../lambdas/core/automation-document.ts';
import { DOCUMENT_PATTERNS } from '../../../lambdas/core/document-patterns.ts';

const RUNBOOKS_DIR = fileURLToPath(new URL('../../../ssm-documents/automation/', import.meta.url));
const RUNBOOKS = readdirSync(RUNBOOKS_DIR).filter((f) => f.endsWith('.yaml'));

/** The runbooks the spec names: one per operator procedure. */
const EXPECTED = [
  'acgs-declare-incident',
  'acgs-dr-drill',
  'acgs-emergency-restart-all',
  'acgs-emergency-stop-all',
  'acgs-isolate-service',
  'acgs-maintenance-window',
  'acgs-release-service',
  'acgs-restart-service',
  'acgs-restore-database',
  'acgs-rolling-update',
  'acgs-wal-archiving',
];

const PAYLOAD = (path: string, body = '{}') =>
  `{"automation": {"executionId": "{{ automation:EXECUTION_ID }}"}, "method": "POST", "path": "${path}", "body": ${body} }`;

/** A small valid runbook: every rule below breaks one thing in a copy of it. */
// biome-ignore lint/suspicious/noExplicitAny: the tests break documents in every way a file can be broken.
type Loose = any;

function valid(): Record<string, Loose> {
  return {
    schemaVersion: '0.3',
    description: '# Restart\n\nRestarts a service.',
    assumeRole: '{{ AutomationAssumeRole }}',
    parameters: {
      AutomationAssumeRole: {
        type: 'String',
        description: 'role',
        allowedPattern: '^arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9_-]+$',
        default: 'arn:aws:iam::123456789012:role/x',
      },
      ServiceName: { type: 'String', description: 'service', allowedPattern: '^[a-z][a-z0-9-]{0,38}[a-z0-9]$' },
      Services: {
        type: 'StringList',
        description: 'services',
        allowedPattern: '^[a-z][a-z0-9-]{0,38}[a-z0-9]$',
        default: ['auth', 'ac'],
      },
      Force: { type: 'Boolean', description: 'force', default: false },
      Wait: { type: 'Integer', description: 'wait', allowedValues: [60, 120], default: 60 },
    },
    mainSteps: [
      {
        name: 'restart',
        action: 'aws:invokeLambdaFunction',
        timeoutSeconds: 300,
        onFailure: 'step:state',
        inputs: {
          FunctionName: 'acgs-operator-api',
          Payload: PAYLOAD('/services/{{ ServiceName }}/restart', '{"force": {{ Force }} }'),
        },
        outputs: [{ Name: 'Status', Selector: '$.body.status', Type: 'String' }],
      },
      {
        name: 'choose',
        action: 'aws:branch',
        inputs: {
          Choices: [{ NextStep: 'pause', Variable: '{{ restart.Status }}', StringEquals: 'succeeded' }],
          Default: 'state',
        },
      },
      { name: 'pause', action: 'aws:sleep', inputs: { Duration: 'PT10S' } },
      {
        name: 'each',
        action: 'aws:loop',
        inputs: {
          Iterators: '{{ Services }}',
          Steps: [
            {
              name: 'waitOne',
              action: 'aws:invokeLambdaFunction',
              timeoutSeconds: 300,
              inputs: {
                FunctionName: 'acgs-operator-api',
                Payload: PAYLOAD(
                  '/health/wait',
                  '{"services": ["{{ each.CurrentIteratorValue }}"], "timeoutSeconds": {{ Wait }} }',
                ),
              },
            },
          ],
        },
      },
      {
        name: 'state',
        action: 'aws:invokeLambdaFunction',
        timeoutSeconds: 60,
        isEnd: true,
        inputs: { FunctionName: 'acgs-operator-api', Payload: PAYLOAD('/services') },
      },
    ],
    outputs: ['restart.Status', 'each.CurrentIteratorValue'],
  };
}

function problemsOf(doc: unknown): string[] {
  const parsed = parseAutomationDocument(stringify(doc));
  return parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`);
}

function broken(edit: (doc: Record<string, Loose>) => void): string[] {
  const doc = valid();
  edit(doc);
  return problemsOf(doc);
}

describe('the runbooks in ssm-documents/automation', () => {
  it('are the ten procedures of the spec', () => {
    expect(RUNBOOKS.map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual(EXPECTED);
  });

  it.each(RUNBOOKS)('%s passes the Automation schema and the house rules', (file) => {
    const parsed = parseAutomationDocument(readFileSync(`${RUNBOOKS_DIR}${file}`, 'utf8'));
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
  });

  it.each(RUNBOOKS)('%s calls the operator API placeholder, synchronously, with the execution id', (file) => {
    const raw = parse(readFileSync(`${RUNBOOKS_DIR}${file}`, 'utf8')) as AutomationDocument;
    const invokes = raw.mainSteps.flatMap((s) => (s.action === 'aws:loop' ? s.inputs.Steps : [s]));
    for (const step of invokes.filter((s) => s.action === 'aws:invokeLambdaFunction')) {
      if (step.action !== 'aws:invokeLambdaFunction') continue;
      expect(step.inputs.FunctionName).toBe('acgs-operator-api');
      expect(step.inputs.Payload).toContain('"executionId": "{{ automation:EXECUTION_ID }}"');
    }
  });
});

describe("the runbooks' parameters", () => {
  /** Parameters that carry a value the operator API and the Command documents validate: the same pattern. */
  const KINDS: Record<string, string> = {
    ServiceName: DOCUMENT_PATTERNS.serviceName,
    Services: DOCUMENT_PATTERNS.serviceName,
    Branch: DOCUMENT_PATTERNS.gitBranch,
    BackupId: DOCUMENT_PATTERNS.backupId,
  };

  it.each(RUNBOOKS)('%s uses the shared pattern for service names, branches and backup ids', (file) => {
    const raw = parse(readFileSync(`${RUNBOOKS_DIR}${file}`, 'utf8')) as AutomationDocument;
    for (const [name, p] of Object.entries(raw.parameters))
      if (KINDS[name] !== undefined) expect(p.allowedPattern, `${file} ${name}`).toBe(KINDS[name]);
  });
});

describe('parseAutomationDocument', () => {
  it('accepts the valid example', () => {
    expect(problemsOf(valid())).toEqual([]);
  });

  it('refuses another schemaVersion', () => {
    expect(broken((d) => (d.schemaVersion = '2.2'))).toEqual([expect.stringMatching(/^schemaVersion: /)]);
  });

  it('refuses an action it does not know', () => {
    expect(broken((d) => (d.mainSteps[2].action = 'aws:executeAwsApi'))).toEqual([
      expect.stringContaining(
        'action must be one of aws:invokeLambdaFunction, aws:branch, aws:sleep, aws:loop, aws:executeScript',
      ),
    ]);
  });

  it('refuses a script step with {{ }} in its Script, a Handler it does not define, no timeout or no Python', () => {
    const script = (edit: (step: Record<string, Loose>) => void) =>
      broken((d) => {
        const step: Record<string, Loose> = {
          name: 'check',
          action: 'aws:executeScript',
          timeoutSeconds: 60,
          inputs: {
            Runtime: 'python3.11',
            Handler: 'check',
            InputPayload: { Force: '{{ Force }}' },
            Script: 'def check(events, context):\n    return {}',
          },
        };
        edit(step);
        d.mainSteps.unshift(step);
      });
    expect(script(() => {})).toEqual([]);
    expect(script((s) => (s.inputs.Script = 'def check(events, context):\n    return "{{ ServiceName }}"'))).toContain(
      'mainSteps.0.inputs.Script: must hold no {{ }}: give the script values through InputPayload, as data',
    );
    expect(script((s) => (s.inputs.Handler = 'handler'))).toEqual([
      'mainSteps.0.inputs.Handler: the Script defines no function handler at its top level',
    ]);
    expect(script((s) => (s.timeoutSeconds = 601))).toEqual([
      'mainSteps.0.timeoutSeconds: an aws:executeScript step needs a timeoutSeconds of at most 600 (Automation stops it there)',
    ]);
    expect(script((s) => (s.inputs.Runtime = 'PowerShell 7.4'))).toEqual([
      expect.stringMatching(/^mainSteps\.0\.inputs\.Runtime: /),
    ]);
  });

  it('refuses an invocation without FunctionName', () => {
    expect(broken((d) => delete d.mainSteps[0].inputs.FunctionName)).toEqual([
      'mainSteps.0.inputs.FunctionName: is required',
    ]);
  });

  it('refuses an unknown input', () => {
    expect(broken((d) => (d.mainSteps[2].inputs.Seconds = 3))).toEqual([
      expect.stringMatching(/^mainSteps\.2\.inputs\.Seconds: unknown key/),
    ]);
  });

  it('refuses a sleep with neither or a bad Duration', () => {
    expect(broken((d) => (d.mainSteps[2].inputs = {}))).toEqual([
      'mainSteps.2.inputs: needs exactly one of Duration and Timestamp',
    ]);
    expect(broken((d) => (d.mainSteps[2].inputs.Duration = '10 seconds'))).toEqual([
      'mainSteps.2.inputs.Duration: must be an ISO 8601 duration like PT30S',
    ]);
    expect(broken((d) => (d.mainSteps[2].inputs.Duration = 'P8D'))).toEqual([
      'mainSteps.2.inputs.Duration: must be at most 604799 seconds',
    ]);
  });

  it('refuses a branch choice with no or two operators', () => {
    expect(broken((d) => (d.mainSteps[1].inputs.Choices[0].StringEquals = undefined))).toEqual([
      expect.stringMatching(/^mainSteps\.1\.inputs\.Choices\.0: needs exactly one operator/),
    ]);
    expect(broken((d) => (d.mainSteps[1].inputs.Choices[0].BooleanEquals = true))).toEqual([
      expect.stringMatching(/^mainSteps\.1\.inputs\.Choices\.0: needs exactly one operator/),
    ]);
  });

  it('refuses a step name used twice', () => {
    expect(broken((d) => (d.mainSteps[2].name = 'restart'))).toContain(
      'mainSteps.2.name: step name "restart" is used twice',
    );
  });

  it('refuses nextStep, onFailure, branch and Default targets that do not exist', () => {
    expect(broken((d) => (d.mainSteps[2].nextStep = 'nowhere'))).toEqual([
      'mainSteps.2.nextStep: step "nowhere" does not exist (at this level)',
    ]);
    expect(broken((d) => (d.mainSteps[0].onFailure = 'step:nowhere'))).toEqual([
      'mainSteps.0.onFailure: step "nowhere" does not exist (at this level)',
    ]);
    expect(broken((d) => (d.mainSteps[1].inputs.Choices[0].NextStep = 'nowhere'))).toEqual([
      'mainSteps.1.inputs.Choices.0.NextStep: step "nowhere" does not exist (at this level)',
    ]);
    expect(broken((d) => (d.mainSteps[1].inputs.Default = 'waitOne'))).toEqual([
      'mainSteps.1.inputs.Default: step "waitOne" does not exist (at this level)',
    ]);
  });

  it('refuses an onFailure that is not Abort, Continue or step:NAME', () => {
    expect(broken((d) => (d.mainSteps[0].onFailure = 'Retry'))).toEqual([
      'mainSteps.0.onFailure: must be Abort, Continue or step:<step name>',
    ]);
  });

  it('refuses isEnd together with nextStep', () => {
    expect(broken((d) => (d.mainSteps[4].nextStep = 'restart'))).toEqual([
      'mainSteps.4.nextStep: a step cannot both end the runbook and name a next step',
    ]);
  });

  it('refuses a {{ }} that is no parameter, no Automation variable and no earlier output', () => {
    expect(
      broken(
        (d) => (d.mainSteps[0].inputs.Payload = PAYLOAD('/services/{{ Service }}/restart', '{"force": {{ Force }} }')),
      ),
    ).toContain('mainSteps.0.inputs.Payload: {{ Service }}: is neither a declared parameter nor <step>.<output>');
    expect(broken((d) => (d.mainSteps[4].inputs.Payload = PAYLOAD('/x/{{ automation:EXECUTION }}')))).toEqual([
      expect.stringContaining('{{ automation:EXECUTION }}: is not an Automation variable'),
    ]);
    // A step's output is readable only after the step.
    expect(broken((d) => (d.mainSteps[1].inputs.Choices[0].Variable = '{{ state.Payload }}'))).toEqual([
      'mainSteps.1.inputs.Choices.0.Variable: {{ state.Payload }}: is not a parameter, and no step state runs before this one',
    ]);
    expect(broken((d) => (d.mainSteps[1].inputs.Choices[0].Variable = '{{ restart.Missing }}'))).toEqual([
      expect.stringContaining(
        'step restart has no output Missing (it has Payload, StatusCode, FunctionError, LogResult, Status)',
      ),
    ]);
  });

  it('refuses document outputs of steps or outputs that do not exist', () => {
    expect(broken((d) => (d.outputs = ['restart.Nope', 'ghost.Payload', 'plain']))).toEqual([
      'outputs.0: step restart has no output Nope (it has Payload, StatusCode, FunctionError, LogResult, Status)',
      'outputs.1: "ghost.Payload" is not <step>.<output> of a step of this runbook',
      'outputs.2: "plain" is not <step>.<output> of a step of this runbook',
    ]);
  });

  it('refuses an assumeRole that is not the AutomationAssumeRole parameter', () => {
    expect(broken((d) => (d.assumeRole = 'arn:aws:iam::123456789012:role/admin'))).toEqual([
      "assumeRole: must be '{{ AutomationAssumeRole }}', a declared parameter (the role the stack creates)",
      'parameters.AutomationAssumeRole: is declared but never used',
    ]);
  });

  it('refuses a parameter without allowedPattern or allowedValues, or never used', () => {
    expect(broken((d) => delete d.parameters.ServiceName.allowedPattern)).toEqual([
      'parameters.ServiceName: needs allowedPattern or allowedValues: every value must be constrained',
    ]);
    expect(
      broken((d) => (d.parameters.Spare = { type: 'String', description: 'x', allowedValues: ['a'], default: 'a' })),
    ).toEqual(['parameters.Spare: is declared but never used']);
  });

  it('refuses an unanchored pattern and a default the parameter itself refuses', () => {
    expect(broken((d) => (d.parameters.ServiceName.allowedPattern = '[a-z]+'))).toEqual([
      'parameters.ServiceName.allowedPattern: must be anchored: start with ^ and end with $',
    ]);
    expect(broken((d) => (d.parameters.Wait.default = 90))).toEqual([
      'parameters.Wait.default: "90" is not one of 60, 120',
    ]);
    expect(broken((d) => (d.parameters.Force.default = 'yes'))).toEqual([
      'parameters.Force.default: must be of type Boolean',
    ]);
  });

  it('refuses a payload value that could hold a quote or a backslash', () => {
    expect(broken((d) => (d.parameters.ServiceName.allowedPattern = '^.+$'))).toEqual([
      expect.stringContaining('{{ ServiceName }} is not safe in JSON: its allowedPattern ^.+$'),
    ]);
    expect(broken((d) => (d.parameters.ServiceName.allowedPattern = '^[^/]+$'))).toEqual([
      expect.stringContaining('{{ ServiceName }} is not safe in JSON'),
    ]);
    expect(broken((d) => (d.parameters.Services.allowedPattern = '^\\S+$'))).toEqual([
      expect.stringContaining('{{ each.CurrentIteratorValue }} is not safe in JSON'),
    ]);
  });

  it('refuses a payload that is not a JSON object', () => {
    expect(broken((d) => (d.mainSteps[4].inputs.Payload = '{"method": "GET", "path": "/services"'))).toEqual([
      'mainSteps.4.inputs.Payload: is not JSON once its {{ }} are filled in',
    ]);
  });

  it('refuses an invocation without a timeout within 300 s, or not synchronous', () => {
    expect(broken((d) => (d.mainSteps[4].timeoutSeconds = 900))).toEqual([
      expect.stringMatching(
        /^mainSteps\.4\.timeoutSeconds: an aws:invokeLambdaFunction step needs a timeoutSeconds of at most 300/,
      ),
    ]);
    expect(broken((d) => (d.mainSteps[4].inputs.InvocationType = 'Event'))).toEqual([
      'mainSteps.4.inputs.InvocationType: must be RequestResponse: a step must wait for the outcome it reports',
    ]);
  });

  it('refuses a loop with both Iterators and LoopCondition, or isEnd inside it', () => {
    expect(
      broken((d) => (d.mainSteps[3].inputs.LoopCondition = { Variable: '{{ Force }}', BooleanEquals: true })),
    ).toEqual(['mainSteps.3.inputs: needs exactly one of Iterators and LoopCondition']);
    expect(broken((d) => (d.mainSteps[3].inputs.Steps[0].isEnd = true))).toEqual([
      'mainSteps.3.inputs.Steps.0: a step inside aws:loop cannot use isEnd or nextStep',
    ]);
  });
});

describe('resolveParameters', () => {
  const doc = (() => {
    const parsed = parseAutomationDocument(stringify(valid()));
    if (!parsed.ok) throw new Error('the valid example does not parse');
    return parsed.document;
  })();

  it('fills defaults and types the values', () => {
    expect(resolveParameters(doc, { ServiceName: 'auth', Force: 'true', Wait: '120', Services: 'gs,pgc' })).toEqual({
      ok: true,
      values: {
        AutomationAssumeRole: 'arn:aws:iam::123456789012:role/x',
        ServiceName: 'auth',
        Services: ['gs', 'pgc'],
        Force: true,
        Wait: 120,
      },
    });
  });

  it('names each parameter it refuses, and why', () => {
    const result = resolveParameters(doc, {
      Force: 'yes',
      Wait: '90',
      Services: 'auth,"x',
      Extra: '1',
    });
    expect(result).toEqual({
      ok: false,
      errors: [
        { parameter: 'Extra', message: 'is not a parameter of this runbook' },
        { parameter: 'ServiceName', message: 'is required' },
        { parameter: 'Services', message: '"\\"x" does not match ^[a-z][a-z0-9-]{0,38}[a-z0-9]$' },
        { parameter: 'Force', message: '"yes" is not true or false' },
        { parameter: 'Wait', message: '"90" is not one of 60, 120' },
      ],
    });
  });

  it('refuses an injection attempt in a String parameter', () => {
    const result = resolveParameters(doc, { ServiceName: 'auth", "path": "/fleet/stop-all' });
    expect(result.ok).toBe(false);
  });
});

describe('substitute', () => {
  const lookup = (values: Record<string, unknown>) => (name: string) => values[name] as never;

  it('keeps the type of a whole-value placeholder and writes values out inside text', () => {
    const values = lookup({ S: ['a', 'b'], N: 3, B: true, T: 'x' });
    expect(substitute({ a: '{{ S }}', b: '{{N}}', c: 'n={{ N }} b={{ B }} s={{ S }} t={{ T }}' }, values)).toEqual({
      a: ['a', 'b'],
      b: 3,
      c: 'n=3 b=true s=["a","b"] t=x',
    });
  });

  it('does not scan a value for further placeholders', () => {
    expect(substitute('{{ A }}!', lookup({ A: '{{ B }}', B: 'no' }))).toBe('{{ B }}!');
  });

  it('names a placeholder without a value', () => {
    expect(() => substitute('x {{ gone.Status }}', lookup({}))).toThrow('{{ gone.Status }} has no value');
  });
});

describe('small pieces', () => {
  it('parses ISO 8601 durations', () => {
    expect(parseIsoDuration('PT30S')).toBe(30);
    expect(parseIsoDuration('PT5M')).toBe(300);
    expect(parseIsoDuration('P1DT2H')).toBe(93_600);
    expect(parseIsoDuration('PT')).toBeUndefined();
    expect(parseIsoDuration('30s')).toBeUndefined();
  });

  it('judges patterns safe in JSON only when they cannot match " or \\', () => {
    expect(patternExcludesQuotes('^[a-z][a-z0-9-]{0,38}[a-z0-9]$')).toBe(true);
    expect(patternExcludesQuotes('^(\\*|[a-z]+)$')).toBe(true);
    expect(patternExcludesQuotes('^[A-Za-z0-9 ,.:-]{1,9}$')).toBe(true);
    expect(patternExcludesQuotes('^.*$')).toBe(false);
    expect(patternExcludesQuotes('^[^x]*$')).toBe(false);
    expect(patternExcludesQuotes('^[a-z\\\\]*$')).toBe(false);
    expect(patternExcludesQuotes('^[a-z"]*$')).toBe(false);
    expect(patternExcludesQuotes('^\\S+$')).toBe(false);
  });

  it('evaluates branch choices', () => {
    expect(choiceHolds({ StringEquals: 'start' }, 'start')).toBe(true);
    expect(choiceHolds({ BooleanEquals: true }, false)).toBe(false);
    expect(choiceHolds({ NumericGreater: 3 }, 4)).toBe(true);
    expect(choiceHolds({ Contains: 'auth' }, ['ac', 'auth'])).toBe(true);
  });
});
