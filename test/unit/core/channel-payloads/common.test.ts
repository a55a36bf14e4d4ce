import { describe, expect, it } from 'vitest';
import { clip, lastItems } from '../../../../lambdas/core/channel-payloads/common.ts';

describe('clip', () => {
  it('leaves a text that fits as it is', () => {
    expect(clip('auth is down', 12)).toBe('auth is down');
  });

  it('cuts a longer text to the limit, ending in an ellipsis', () => {
    const cut = clip('auth is down on every host', 10);
    expect(cut).toBe('auth is d…');
    expect(cut).toHaveLength(10);
  });

  it('never splits a surrogate pair at the cut', () => {
    // '🔥' is two UTF-16 code units: a cut after 3 units would leave half of the second one.
    const cut = clip('🔥🔥🔥', 4);
    expect(cut).toBe('🔥…');
    expect(cut.length).toBeLessThanOrEqual(4);
  });
});

describe('lastItems', () => {
  it('keeps the newest items and says how many earlier ones were left out', () => {
    expect(lastItems(['a', 'b', 'c', 'd', 'e'], 3)).toEqual(['(3 earlier steps left out)', 'd', 'e']);
    expect(lastItems(['a', 'b'], 3)).toEqual(['a', 'b']);
  });
});
