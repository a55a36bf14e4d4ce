import { describe, expect, it } from 'vitest';
import { handleApiRequest } from '../../../../lambdas/use-cases/operator-api.ts';
import { createHarness } from '../../../support/harness.ts';

const get = (query: Record<string, string>) => ({
  method: 'GET',
  path: '/procedures',
  query,
  body: undefined,
  caller: 'arn:aws:sts::123456789012:assumed-role/oncall/alice',
});

describe('GET /procedures', () => {
  it("serves the severity's and the alert's steps with their command lines", async () => {
    // Prepare
    const h = createHarness();
    // Act
    const response = await handleApiRequest(h.ctx, get({ severity: 'P2', alert: 'database' }));
    // Assess
    expect(response.statusCode).toBe(200);
    const { procedures } = response.body as { procedures: { id: string; steps: { commands: string[] }[] }[] };
    expect(procedures.map((p) => p.id)).toEqual(['severity:P2', 'alert:database']);
    expect(procedures[0]?.steps[1]?.commands).toEqual(['acgs-ops service restart NAME']);
  });

  it('answers 400 naming the parameter for an unknown severity or alert', async () => {
    // Prepare
    const h = createHarness();
    // Act
    const answers = await Promise.all([
      handleApiRequest(h.ctx, get({ severity: 'P0' })),
      handleApiRequest(h.ctx, get({ alert: 'x"; rm -rf /' })),
    ]);
    // Assess
    expect(answers).toEqual([
      { statusCode: 400, body: { error: 'severity: must be P1, P2 or P3' } },
      { statusCode: 400, body: { error: 'alert: must be one of service-down, slow, database, security' } },
    ]);
  });
});
