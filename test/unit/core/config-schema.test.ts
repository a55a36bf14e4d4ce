import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseFleetConfig } from '../../../lambdas/core/config.ts';
import { SHIPPED_CONFIG, shippedConfigWith } from '../../support/shipped-config.ts';

describe('aws.reservedConcurrency', () => {
  it('is off by default, with or without an aws section', () => {
    const withoutAws = parse(SHIPPED_CONFIG) as Record<string, unknown>;
    delete withoutAws.aws;
    for (const text of [SHIPPED_CONFIG, stringify(withoutAws)]) {
      const parsed = parseFleetConfig(text);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      expect(parsed.config.aws.reservedConcurrency).toBe(false);
    }
  });

  it('is turned on with true', () => {
    const parsed = parseFleetConfig(shippedConfigWith('aws.reservedConcurrency', true));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    expect(parsed.config.aws.reservedConcurrency).toBe(true);
  });

  it('refuses anything but true or false, naming the field', () => {
    const parsed = parseFleetConfig(shippedConfigWith('aws.reservedConcurrency', 1));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems).toEqual([expect.objectContaining({ path: 'aws.reservedConcurrency' })]);
  });
});
