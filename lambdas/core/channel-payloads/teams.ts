import { type ChannelInput, channelFacts, clip, factFields, lastItems } from './common.ts';

/**
 * A Microsoft Teams message for a Workflows webhook (Power Automate's "When a Teams webhook request is received"
 * trigger, whose "Post card in a chat or channel" step posts `attachments[0].content`): one Adaptive Card 1.4 with the
 * headline, what happened, a FactSet (severity, status, where, since, incident), what was done and how to acknowledge.
 * Teams refuses a message over about 28 KB ("Request Entity Too Large"); the card stays under `TEAMS_LIMITS.cardBytes`
 * by cutting each text and, if still too large, the list of steps.
 */

export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
/** The version Teams renders on every client (desktop, web, mobile). */
export const ADAPTIVE_CARD_VERSION = '1.4';

export const TEAMS_LIMITS = {
  /** Teams' message limit is about 28 KB, JSON included; keep a margin for the workflow's own wrapping. */
  cardBytes: 24 * 1024,
  textBlock: 2_000,
  factTitle: 100,
  factValue: 1_000,
} as const;

const MAX_DONE_STEPS = 15;

export interface TeamsTextBlock {
  readonly type: 'TextBlock';
  readonly text: string;
  readonly wrap: true;
  readonly size?: 'Small' | 'Default' | 'Medium' | 'Large' | 'ExtraLarge';
  readonly weight?: 'Lighter' | 'Default' | 'Bolder';
  readonly color?: 'Default' | 'Dark' | 'Light' | 'Accent' | 'Good' | 'Warning' | 'Attention';
  readonly isSubtle?: boolean;
  readonly fontType?: 'Default' | 'Monospace';
}

export interface TeamsFactSet {
  readonly type: 'FactSet';
  readonly facts: readonly { readonly title: string; readonly value: string }[];
}

export interface AdaptiveCard {
  readonly $schema: typeof ADAPTIVE_CARD_SCHEMA;
  readonly type: 'AdaptiveCard';
  readonly version: typeof ADAPTIVE_CARD_VERSION;
  readonly body: readonly (TeamsTextBlock | TeamsFactSet)[];
  readonly msteams: { readonly width: 'Full' };
}

export interface TeamsMessage {
  readonly type: 'message';
  readonly attachments: readonly [
    {
      readonly contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
      readonly contentUrl: null;
      readonly content: AdaptiveCard;
    },
  ];
}

export function teamsMessage(input: ChannelInput): TeamsMessage {
  const facts = channelFacts(input);
  const color = facts.kind === 'resolved' ? 'Good' : facts.severity === 'P1' ? 'Attention' : 'Warning';
  const card = (steps: number, textMax: number): AdaptiveCard => {
    const text = (value: string, style: TextStyle = {}) => textBlock(value, textMax, style);
    const body: (TeamsTextBlock | TeamsFactSet)[] = [
      text(facts.headline, { size: 'Medium', weight: 'Bolder', color }),
      text(facts.what),
      {
        type: 'FactSet',
        facts: factFields(facts).map(([title, value]) => ({
          title: clip(title, TEAMS_LIMITS.factTitle),
          value: clip(value, Math.min(textMax, TEAMS_LIMITS.factValue)),
        })),
      },
    ];
    if (facts.done.length > 0 && steps > 0) {
      body.push(text('What was done', { weight: 'Bolder' }));
      body.push(
        text(
          lastItems(facts.done, steps)
            .map((d) => `- ${d}`)
            .join('\n'),
        ),
      );
    }
    if (facts.acknowledge !== undefined) {
      body.push(text('How to acknowledge', { weight: 'Bolder' }));
      body.push(text(facts.acknowledge, { fontType: 'Monospace' }));
    }
    body.push(text(`acgs-ops ${facts.kind} · ${new Date(facts.at).toISOString()}`, { size: 'Small', isSubtle: true }));
    return {
      $schema: ADAPTIVE_CARD_SCHEMA,
      type: 'AdaptiveCard',
      version: ADAPTIVE_CARD_VERSION,
      body,
      msteams: { width: 'Full' },
    };
  };
  // Too large (long details, or text of many bytes per character): fewer steps first, then shorter texts.
  let steps = MAX_DONE_STEPS;
  let textMax: number = TEAMS_LIMITS.textBlock;
  let content = card(steps, textMax);
  while (utf8Bytes(JSON.stringify(content)) > TEAMS_LIMITS.cardBytes && textMax > 50) {
    if (steps > 0) steps = Math.floor(steps / 2);
    else textMax = Math.floor(textMax / 2);
    content = card(steps, textMax);
  }
  return {
    type: 'message',
    attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content }],
  };
}

type TextStyle = Omit<TeamsTextBlock, 'type' | 'text' | 'wrap'>;

function textBlock(value: string, max: number, style: TextStyle): TeamsTextBlock {
  return { type: 'TextBlock', text: clip(value, max), wrap: true, ...style };
}

/** Bytes of `text` in UTF-8 (core does no I/O, so no Buffer): what the 28 KB limit counts. */
function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}
