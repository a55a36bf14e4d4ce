import { type ChannelInput, channelFacts, clip, factFields, lastItems } from './common.ts';

/**
 * A Slack incoming-webhook message in Block Kit (docs.slack.dev, "Sending messages using incoming webhooks", "Blocks"):
 * a header, the headline, fields (severity, status, where, since, incident, by/level), what was done, and how to
 * acknowledge; `text` is the notification and screen-reader fallback. Every text is cut to Block Kit's limits, after
 * escaping, so a long detail shortens the message instead of Slack rejecting it (`invalid_blocks`).
 */

/** Block Kit's documented limits. */
export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3_000,
  fields: 10,
  fieldText: 2_000,
  contextElements: 10,
  /** `text` is truncated by Slack past 40,000 characters; Slack advises keeping a message under 4,000. */
  text: 4_000,
} as const;

/**
 * Our own bounds, below Slack's: a fact (and the acknowledge command) is a line or two, so that the blocks' texts
 * together stay under 12,000 characters (150 + 3,000 + 8 x 500 + 3,000 + 500 and the footer), because Slack refuses messages whose blocks hold about 13,000 (`msg_blocks_too_long`, seen by
 * slackapi/bolt-js#2509, though no documented limit is reached).
 */
const FACT_CHARS = 500;
export const MAX_BLOCKS_CHARS = 12_000;

const MAX_DONE_STEPS = 15;

export interface SlackText {
  readonly type: 'plain_text' | 'mrkdwn';
  readonly text: string;
  readonly emoji?: boolean;
}

export type SlackBlock =
  | { readonly type: 'header'; readonly text: SlackText }
  | { readonly type: 'section'; readonly text?: SlackText; readonly fields?: readonly SlackText[] }
  | { readonly type: 'context'; readonly elements: readonly SlackText[] }
  | { readonly type: 'divider' };

export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

export function slackMessage(input: ChannelInput): SlackMessage {
  const facts = channelFacts(input);
  const fields = factFields(facts).map(([name, value]) => mrkdwn(`*${name}*\n${escapeMrkdwn(value)}`, FACT_CHARS));
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(facts.headline, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'section', text: mrkdwn(escapeMrkdwn(facts.what), SLACK_LIMITS.sectionText) },
    { type: 'section', fields: fields.slice(0, SLACK_LIMITS.fields) },
  ];
  if (facts.done.length > 0) {
    const done = lastItems(facts.done, MAX_DONE_STEPS)
      .map((d) => `• ${escapeMrkdwn(d)}`)
      .join('\n');
    blocks.push({ type: 'section', text: mrkdwn(`*What was done*\n${done}`, SLACK_LIMITS.sectionText) });
  }
  if (facts.acknowledge !== undefined)
    blocks.push({
      type: 'section',
      text: mrkdwn(`*How to acknowledge*\n\`${escapeMrkdwn(facts.acknowledge)}\``, FACT_CHARS),
    });
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(escapeMrkdwn(`acgs-ops ${facts.kind} · ${new Date(facts.at).toISOString()}`), SLACK_LIMITS.fieldText),
    ],
  });
  return {
    text: clipEscaped(escapeMrkdwn(`${facts.headline}: ${facts.what}`), SLACK_LIMITS.text),
    blocks: blocks.slice(0, SLACK_LIMITS.blocks),
  };
}

function mrkdwn(text: string, max: number): SlackText {
  return { type: 'mrkdwn', text: clipEscaped(text, max) };
}

/** Slack's three control characters, escaped as Slack asks (`&amp;`, `&lt;`, `&gt;`), so no text becomes a link. */
function escapeMrkdwn(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** `clip` that never leaves half an escape (`&am…`) at the cut. */
function clipEscaped(text: string, max: number): string {
  const clipped = clip(text, max);
  if (clipped === text) return text;
  return clipped.replace(/&[a-z]{0,3}…$/, '…');
}
