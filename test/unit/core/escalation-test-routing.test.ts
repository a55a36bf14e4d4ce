import { describe, expect, it } from 'vitest';
import { type RoutingConfig, testRouting } from '../../../lambdas/core/escalation-test-routing.ts';

const config: RoutingConfig = {
  notifications: {
    channels: [
      { name: 'console', pages: true },
      { name: 'oncall-mail', pages: true, levels: [1, 2] },
      { name: 'exec-sms', pages: true, levels: [4] },
      { name: 'stakeholders', pages: false },
    ],
  },
  escalation: {
    levels: [
      { level: 1, name: 'Operations' },
      { level: 2, name: 'Engineering' },
      { level: 3, name: 'Architecture' },
      { level: 4, name: 'Executive' },
    ],
  },
};

describe('where an escalation test pages', () => {
  it('pages level 1 through every page channel carrying it, never a stakeholder channel', () => {
    expect(testRouting(config, {})).toEqual({
      level: 1,
      levelName: 'Operations',
      channels: ['console', 'oncall-mail'],
    });
    expect(testRouting(config, { level: 4 }).channels).toEqual(['console', 'exec-sms']);
  });

  it('pages a named channel at the lowest level it carries, or at the level asked when it carries it', () => {
    expect(testRouting(config, { channel: 'exec-sms' })).toEqual({
      level: 4,
      levelName: 'Executive',
      channel: 'exec-sms',
      channels: ['exec-sms'],
    });
    expect(testRouting(config, { channel: 'oncall-mail', level: 2 }).level).toBe(2);
  });

  it('refuses a channel that pages nobody, a level the channel does not carry, and a level nobody carries', () => {
    expect(() => testRouting(config, { channel: 'stakeholders' })).toThrow(
      'channel: no page channel named "stakeholders" (page channels: console, oncall-mail, exec-sms)',
    );
    expect(() => testRouting(config, { channel: 'exec-sms', level: 1 })).toThrow(
      'level: channel exec-sms carries level(s) 4, not level 1',
    );
    const noConsole = { ...config, notifications: { channels: config.notifications.channels.slice(1) } };
    expect(() => testRouting(noConsole, { level: 3 })).toThrow(
      'level: no page channel carries level 3 (page channels: oncall-mail, exec-sms)',
    );
  });
});
