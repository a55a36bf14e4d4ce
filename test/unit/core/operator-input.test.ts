import { describe, expect, it } from 'vitest';
import { serviceNames } from '../../../lambdas/core/operator-input.ts';
import { VALUES } from '../../support/unit-document-values.ts';

describe('service names an operator types', () => {
  it('takes and refuses what the documents do when an incident is declared with --service', () => {
    // Prepare
    const { valid, invalid } = VALUES.serviceName;
    // Act
    const refused = valid.filter((name) => !serviceNames.safeParse([name]).success);
    const taken = invalid.filter((name) => serviceNames.safeParse([name]).success);
    // Assess
    expect(refused).toEqual([]);
    expect(taken).toEqual([]);
  });
});
