import { describe, expect, it } from 'vitest';
import { hostRuns } from '../../../lambdas/core/host-runs.ts';
import { loadShippedConfig } from '../../support/harness.ts';
import { spreadFleet } from '../../support/spread-fleet.ts';

describe('hostRuns', () => {
  it('keeps a list on one host as one run', () => {
    const config = loadShippedConfig();
    expect(hostRuns(config, ['auth', 'ac', 'pgc'])).toEqual([
      { where: 'host 127.0.0.1', services: ['auth', 'ac', 'pgc'] },
    ]);
  });

  it('cuts a list into consecutive runs per host, in the order given', () => {
    const config = spreadFleet(
      { auth: '10.0.0.1', ac: '10.0.0.1', integrity: '10.0.0.2', fv: '10.0.0.1' },
      { gs: 'i-0123456789abcdef0' },
    );
    expect(hostRuns(config, ['auth', 'ac', 'integrity', 'fv', 'gs'])).toEqual([
      { where: 'host 10.0.0.1', services: ['auth', 'ac'] },
      { where: 'host 10.0.0.2', services: ['integrity'] },
      { where: 'host 10.0.0.1', services: ['fv'] },
      { where: 'instance i-0123456789abcdef0', services: ['gs'] },
    ]);
  });
});
