import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { Synthesized } from './synth-stack.ts';

/**
 * Checks every synthesized fleet stack must pass, registered inside a `describe` of the file that synthesized it
 * (one synth per file).
 */

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
  readonly construct: IConstruct;
}

/** Every acknowledgement recorded in the app (`Validations.of(x).acknowledge`), with where it was made. */
export function acknowledgements(app: App): Acknowledgement[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
          construct,
        })),
      ),
  );
}

/** What AwsSolutions would report if nothing were acknowledged: rule id (with finding) -> construct paths. */
function unacknowledgedFindings(app: App): Map<string, string[]> {
  const pack = new AwsSolutionsChecks();
  // The pack's private acknowledgement lookup, switched off for this one run.
  Object.assign(pack, { isAcknowledged: () => false });
  const report = pack.validateScope(app);
  return new Map(report.violations.map((v) => [v.ruleName, v.violatingResources.map((r) => r.constructPath ?? '')]));
}

export function cdkNagChecks(synthesized: () => Synthesized): void {
  it('leaves no unacknowledged AwsSolutions finding', () => {
    // Synthesis already ran the AwsSolutions plugin registered by addControlPlane (and would have thrown on a
    // finding); this repeats it to print what it found.
    const report = new AwsSolutionsChecks().validateScope(synthesized().app);
    expect(
      report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath)}`),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('leaves no error or warning annotation on the stack', () => {
    const annotations = Annotations.fromStack(synthesized().stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('acknowledges findings only on the resource concerned, each with a reason', () => {
    const acks = acknowledgements(synthesized().app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(Stack.isStack(ack.construct) || App.isApp(ack.construct), `${ack.id} on ${ack.path}`).toBe(false);
      expect(ack.reason.length, `reason of ${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });

  it('has no stale acknowledgement: each covers a finding AwsSolutions reports on that construct', () => {
    const findings = unacknowledgedFindings(synthesized().app);
    expect(findings.size).toBeGreaterThan(0);
    for (const ack of acknowledgements(synthesized().app).filter((a) => a.id.startsWith('AwsSolutions-'))) {
      const paths = findings.get(ack.id) ?? [];
      expect(
        paths.some((p) => p === ack.path || p.startsWith(`${ack.path}/`)),
        `${ack.id} acknowledged on ${ack.path} but reported on [${paths.join(', ')}]`,
      ).toBe(true);
    }
  });
}

/**
 * The checks of a synthesized fleet stack, each group in its own describe: cdk-nag always (`cdk-nag (AwsSolutions)`,
 * then `, <context>` when given), cfn-lint when asked.
 */
export function describeStackChecks(
  synthesized: () => Synthesized,
  options: { readonly context?: string; readonly cfnLint?: boolean } = {},
): void {
  describe(`cdk-nag (AwsSolutions)${options.context ? `, ${options.context}` : ''}`, () => cdkNagChecks(synthesized));
  if (options.cfnLint) describe('cfn-lint', () => cfnLintCheck(synthesized));
}

/**
 * cfn-lint on the synthesized template must exit 0: no errors and no warnings. The one warning accepted on purpose
 * is W3005 on the Lambda functions, silenced there by inline `cfn-lint` metadata with its reason beside it
 * (lib/constructs/control-plane-function.ts).
 */
export function cfnLintCheck(synthesized: () => Synthesized): void {
  it('passes cfn-lint without errors or warnings', { timeout: 120_000 }, () => {
    const version = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
    if (version.error || version.status !== 0)
      expect.fail(
        `cfn-lint is not available (${version.error?.message ?? version.stderr}); it is preinstalled on these ` +
          'machines and cannot be installed from a registry here, and this check needs it',
      );
    const dir = mkdtempSync(join(tmpdir(), 'acgs-cfn-lint-'));
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(synthesized().template.toJSON(), null, 1));
    const result = spawnSync('cfn-lint', ['--format', 'parseable', '--', file], { encoding: 'utf8', timeout: 110_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(result.error).toBeUndefined();
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });
}
