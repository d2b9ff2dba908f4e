import type { types } from '@slack/bolt';

type KnownBlock = types.KnownBlock;
import type { Check } from '../domain/check.js';
import { APPROVE_ACTION, REJECT_ACTION, freezeLine, headline } from './card.js';
import { link } from './mrkdwn.js';

/** How many checks one `/pending` answer lists; the rest are on the web list. */
export const PENDING_LIST_LIMIT = 15;
/** A title in the list is shortened more than on a card: fifteen long ones would drown the list. */
const LIST_TITLE = 150;
/**
 * Characters of blocks the entries may take. Slack refuses a message whose blocks are too long
 * taken together (`msg_blocks_too_long`, at about 12k); the rest leaves room for the last line.
 */
const LIST_CHARS = 10_000;

function age(from: Date, now: Date): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}

/** The ephemeral answer to `/pending`: newest first, each with its age and buttons. */
export function renderPendingList(
  checks: readonly Check[],
  total: number,
  now: Date,
  webListUrl: string | null,
  freezeOf: (check: Check) => string | null = () => null,
): { text: string; blocks: KnownBlock[] } {
  if (total === 0) {
    return { text: 'Nothing waits for a decision.', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: ':white_check_mark: Nothing waits for a decision.' } }] };
  }
  const shown = checks.slice(0, PENDING_LIST_LIMIT);
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${total} check${total === 1 ? '' : 's'} waiting for a decision*, newest first:` } },
  ];
  let size = JSON.stringify(blocks).length;
  let listed = 0;
  for (const check of shown) {
    const freeze = freezeOf(check);
    const entry: KnownBlock[] = [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${headline(check, LIST_TITLE)}\nwaiting ${age(check.receivedAt, now)} · \`${check.sha.slice(0, 8)}\`${freeze ? `\n${freezeLine(freeze)}` : ''}`,
        },
      },
      {
        type: 'actions',
        block_id: `decide_${check.id}`,
        elements: [
          { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: String(check.id) },
          { type: 'button', action_id: REJECT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value: String(check.id) },
        ],
      },
    ];
    // Long titles and paths: fewer entries rather than a message Slack refuses whole.
    const grown = size + JSON.stringify(entry).length + 1;
    if (listed > 0 && grown > LIST_CHARS) break;
    blocks.push(...entry);
    size = grown;
    listed++;
  }
  if (total > listed) {
    const more = total - listed;
    const where = webListUrl ? `: ${link(webListUrl, 'see them all on the web list')}` : ' on the web list';
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${more} more${where}.` }] });
  }
  return { text: `${total} check(s) waiting for a decision`, blocks };
}
