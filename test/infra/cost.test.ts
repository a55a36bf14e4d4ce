import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  costOfConfig,
  costTableMarkdown,
  defaultConfigPath,
  estimateMonthlyCost,
  expectedCustomMetrics,
  readmeCostTable,
} from '../../lib/cost-estimate.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let cost: ReturnType<typeof costOfConfig>;

// A synth without bundling: about 10 s of CPU.
beforeAll(() => {
  cost = costOfConfig(defaultConfigPath(ROOT), ROOT);
}, 120_000);

describe('monthly cost of the default fleet, from its template', () => {
  it('is at most $6 at list prices', () => {
    expect(cost.estimate.total).toBeGreaterThan(0);
    expect(cost.estimate.total).toBeLessThanOrEqual(6);
  });

  it("is the README's table (npm run cost -- --write rewrites it)", () => {
    expect(readmeCostTable(readFileSync(join(ROOT, 'README.md'), 'utf8'))).toBe(costTableMarkdown(cost.estimate));
  });

  it('counts exactly the custom metric series the handlers emit, and the template resources billed', () => {
    expect(cost.estimate.counts.customMetrics).toBe(expectedCustomMetrics(cost.config));
    const count = (type: string) => Object.values(cost.template.Resources ?? {}).filter((r) => r.Type === type).length;
    expect(cost.estimate.counts).toMatchObject({
      alarms: count('AWS::CloudWatch::Alarm'),
      kmsKeys: 1,
      schedules: count('AWS::Scheduler::Schedule'),
      functions: count('AWS::Lambda::Function'),
    });
  });

  it('costs a pitrDrill schedule as the drill it is (the Lambda waits for the restore), not as a short backup task', () => {
    // Prepare: the drill's schedule relabelled pitrDrill, on the same cron.
    const relabelled = structuredClone(cost.template);
    const drill = Object.values(relabelled.Resources ?? {}).find(
      (r) => r.Type === 'AWS::Scheduler::Schedule' && String(r.Properties?.Description).startsWith('drill:'),
    );
    if (!drill?.Properties) throw new Error('no drill schedule in the template');
    drill.Properties.Description = String(drill.Properties.Description).replace(/^drill:/, 'pitrDrill:');
    const config = { ...cost.config, schedules: { ...cost.config.schedules, pitrDrill: cost.config.schedules.drill } };
    // Act & Assess
    expect(estimateMonthlyCost(relabelled, config)).toEqual(cost.estimate);
  });

  it('refuses a schedule whose target is not a function of the template', () => {
    const broken = structuredClone(cost.template);
    const schedule = Object.values(broken.Resources ?? {}).find((r) => r.Type === 'AWS::Scheduler::Schedule');
    if (!schedule?.Properties) throw new Error('no schedule in the template');
    schedule.Properties.Target.Arn = 'arn:aws:lambda:us-east-1:123456789012:function:elsewhere';
    expect(() => estimateMonthlyCost(broken, cost.config)).toThrow(/targets .*elsewhere.*, not a function/);
  });
});
