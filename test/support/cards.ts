import type { SlackCall } from '../../src/fakes/slack.js';
import { basic, type Harness } from './harness.js';

type Block = { type: string; elements?: Array<{ action_id?: string; value?: string }> };

const blocksOf = (call: SlackCall): Block[] => (call.body.blocks as Block[] | undefined) ?? [];

/** Everything a person reads on a card: its fallback text and its blocks. */
export const cardText = (call: SlackCall): string => `${String(call.body.text)}\n${JSON.stringify(call.body.blocks)}`;

/** The Approve / Reject buttons on a card (none once the check is decided or retired). */
export const buttonsOf = (call: SlackCall): Array<{ action_id?: string; value?: string }> =>
  blocksOf(call)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? []);

/** The check a card's buttons decide on, or null for a card without buttons. */
export function checkIdOf(call: SlackCall): number | null {
  const value = buttonsOf(call)[0]?.value;
  return value === undefined ? null : Number(value);
}

/** The merge request IID a card names (`acme/payments-api!128`), whatever its state. */
export function iidOf(call: SlackCall): number | null {
  const match = /!(\d+) /.exec(String(call.body.text));
  return match ? Number(match[1]) : null;
}

/** The web list as a signed-in user sees it. */
export async function webList(h: Harness): Promise<string> {
  const res = await fetch(`${h.bot.url}/`, { headers: { authorization: basic() } });
  if (res.status !== 200) throw new Error(`the web list answered ${res.status}`);
  return res.text();
}

/** The web list's row for one check, as HTML. */
export function webRow(html: string, checkId: number): string {
  const match = new RegExp(`<tr class="[a-z]+" id="check-${checkId}">[\\s\\S]*?</tr>`).exec(html);
  if (!match) throw new Error(`check ${checkId} is not on the web list`);
  return match[0];
}
