import * as z from 'zod';

/**
 * The published formats, written from the vendors' documentation rather than from our builders, so that a payload
 * our code builds wrongly fails here (unit tests) and at the local sinks (integration tests).
 *
 * - PagerDuty Events API v2, "Send an Alert Event" (developer.pagerduty.com/docs/events-api-v2): `routing_key`,
 *   `event_action` trigger | acknowledge | resolve, `dedup_key` at most 255 characters; a trigger's `payload` needs
 *   `summary` (at most 1024), `source` and `severity` (critical | error | warning | info), optional ISO `timestamp`,
 *   `component`, `group`, `class`, `custom_details` (object); `links` [{href, text?}], `images` [{src, href?, alt?}];
 *   events at most 512 KB.
 * - Slack Block Kit (docs.slack.dev/reference/block-kit): at most 50 blocks; header: plain_text at most 150;
 *   section: text at most 3000 and/or at most 10 fields of at most 2000 each; context: at most 10 elements; text
 *   objects `plain_text` | `mrkdwn`; block_id at most 255; `text` is truncated by Slack past 40,000 characters.
 * - Adaptive Cards (adaptivecards.io/explorer) in a Teams message (learn.microsoft.com, "Send Adaptive Cards using an
 *   Incoming Webhook"; Teams connector limits): `{type: "message", attachments: [{contentType:
 *   "application/vnd.microsoft.card.adaptive", contentUrl: null, content: AdaptiveCard}]}`; the card's `type`,
 *   `version`, `body` of TextBlock / FactSet elements with their enumerated styles; a message at most about 28 KB.
 */

const utf8Bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).length;

// --- PagerDuty Events API v2 -------------------------------------------------------------------------------------

const dedupKey = z.string().min(1).max(255);
const routingKey = z.string().min(1);

const pagerDutyTrigger = z.strictObject({
  routing_key: routingKey,
  event_action: z.literal('trigger'),
  dedup_key: dedupKey.optional(),
  client: z.string().optional(),
  client_url: z.url().optional(),
  payload: z.strictObject({
    summary: z.string().min(1).max(1024),
    source: z.string().min(1),
    severity: z.enum(['critical', 'error', 'warning', 'info']),
    timestamp: z.iso.datetime({ offset: true }).optional(),
    component: z.string().optional(),
    group: z.string().optional(),
    class: z.string().optional(),
    custom_details: z.record(z.string(), z.unknown()).optional(),
  }),
  images: z.array(z.strictObject({ src: z.url(), href: z.url().optional(), alt: z.string().optional() })).optional(),
  links: z.array(z.strictObject({ href: z.url(), text: z.string().optional() })).optional(),
});

const pagerDutyFollowUp = (action: 'acknowledge' | 'resolve') =>
  z.strictObject({ routing_key: routingKey, event_action: z.literal(action), dedup_key: dedupKey });

export const pagerDutyEventSchema = z
  .discriminatedUnion('event_action', [
    pagerDutyTrigger,
    pagerDutyFollowUp('acknowledge'),
    pagerDutyFollowUp('resolve'),
  ])
  .refine((event) => utf8Bytes(event) <= 512 * 1024, 'an event is at most 512 KB');

export type PagerDutyWireEvent = z.infer<typeof pagerDutyEventSchema>;

// --- Slack Block Kit ---------------------------------------------------------------------------------------------

const blockId = z.string().max(255).optional();
const plainText = (max: number) =>
  z.strictObject({ type: z.literal('plain_text'), text: z.string().min(1).max(max), emoji: z.boolean().optional() });
const mrkdwnText = (max: number) =>
  z.strictObject({ type: z.literal('mrkdwn'), text: z.string().min(1).max(max), verbatim: z.boolean().optional() });
const textObject = (max: number) => z.discriminatedUnion('type', [plainText(max), mrkdwnText(max)]);

const slackBlock = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('header'), text: plainText(150), block_id: blockId }),
  z
    .strictObject({
      type: z.literal('section'),
      text: textObject(3000).optional(),
      fields: z.array(textObject(2000)).min(1).max(10).optional(),
      block_id: blockId,
    })
    .refine((s) => s.text !== undefined || s.fields !== undefined, 'a section needs text or fields'),
  z.strictObject({
    type: z.literal('context'),
    elements: z.array(textObject(3000)).min(1).max(10),
    block_id: blockId,
  }),
  z.strictObject({ type: z.literal('divider'), block_id: blockId }),
]);

export const slackMessageSchema = z.strictObject({
  text: z.string().min(1).max(40_000),
  blocks: z.array(slackBlock).min(1).max(50),
});

export type SlackWireMessage = z.infer<typeof slackMessageSchema>;

// --- Teams: Adaptive Card in a message -----------------------------------------------------------------------------

const textBlock = z.strictObject({
  type: z.literal('TextBlock'),
  text: z.string().min(1),
  wrap: z.boolean().optional(),
  size: z.enum(['Small', 'Default', 'Medium', 'Large', 'ExtraLarge']).optional(),
  weight: z.enum(['Lighter', 'Default', 'Bolder']).optional(),
  color: z.enum(['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention']).optional(),
  isSubtle: z.boolean().optional(),
  fontType: z.enum(['Default', 'Monospace']).optional(),
  maxLines: z.int().min(1).optional(),
});

const factSet = z.strictObject({
  type: z.literal('FactSet'),
  facts: z.array(z.strictObject({ title: z.string(), value: z.string() })).min(1),
});

const adaptiveCard = z.strictObject({
  type: z.literal('AdaptiveCard'),
  $schema: z.literal('http://adaptivecards.io/schemas/adaptive-card.json'),
  // Teams renders Adaptive Cards up to 1.5 from webhooks.
  version: z.string().regex(/^1\.[0-5]$/),
  body: z.array(z.discriminatedUnion('type', [textBlock, factSet])).min(1),
  msteams: z.strictObject({ width: z.literal('Full') }).optional(),
});

export const teamsMessageSchema = z
  .strictObject({
    type: z.literal('message'),
    attachments: z
      .array(
        z.strictObject({
          contentType: z.literal('application/vnd.microsoft.card.adaptive'),
          contentUrl: z.null().optional(),
          content: adaptiveCard,
        }),
      )
      .length(1),
  })
  .refine((message) => utf8Bytes(message) <= 28 * 1024, 'a Teams message is at most 28 KB');

export type TeamsWireMessage = z.infer<typeof teamsMessageSchema>;
