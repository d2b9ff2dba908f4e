import crypto from 'node:crypto';
import type { types, webApi } from '@slack/bolt';
import type { DeliveryHandlers } from '../delivery/handlers.js';
import type { Check, Outcome } from '../domain/check.js';
import type { Gate } from '../gate.js';
import type { PeoplePort } from '../ports.js';
import { APPROVE_ACTION, REJECT_ACTION, approvalsLine } from './card.js';
import { explainSlackError } from './errors.js';
import { fit, link } from './mrkdwn.js';

type KnownBlock = types.KnownBlock;

/** A Home tab holds at most 100 blocks; two per waiting check, the rest is fixed. */
export const HOME_WAITING_LIMIT = 40;
const RECENT_LIMIT = 10;
const MINE_LIMIT = 10;

export interface HomeView {
  type: 'home';
  blocks: KnownBlock[];
}

export interface HomeContent {
  /** Checks this person may decide, oldest first: all of them (only some are drawn). */
  waiting: readonly Check[];
  /** Their recent votes, newest first. */
  recent: ReadonlyArray<{ check: Check; outcome: Outcome; decidedAt: Date }>;
  /** Their own merge requests waiting on others (by the e-mail of the newest commit's author); shown when any. */
  mine: readonly Check[] | null;
  now: Date;
  webListUrl: string | null;
  historyUrl: (checkId: number) => string | null;
  /** A freeze on the check's rule, in words (e.g. "frozen until Monday"); null when none. */
  freezeOf: (check: Check) => string | null;
  /** A line shown on top once, such as why a click was refused. */
  notice?: string | null;
}

function age(from: Date, now: Date): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}

/** A section holds at most 3000 characters. */
const SECTION_MAX = 3000;

/** `acme/api!12 Title`, linked, escaped and bounded; an absurdly long URL is left out rather than cut. */
function name(check: Check): string {
  const ref = `${check.projectPath}!${check.mergeRequestIid}`;
  // link() escapes its text; a GitLab path has no character that escaping lengthens.
  return `${check.url.length <= 1000 ? link(check.url, ref) : fit(ref, 300)} ${fit(check.title, 150)}`;
}

/** As many whole lines as fit in one section, and how many did not. */
function joinLines(lines: readonly string[]): string {
  let text = '';
  let shown = 0;
  for (const line of lines) {
    const next = text ? `${text}\n${line}` : line;
    if (next.length > SECTION_MAX - 40) break;
    text = next;
    shown += 1;
  }
  return shown < lines.length ? `${text}\n…and ${lines.length - shown} more on the web list.` : text;
}

const section = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const header = (text: string): KnownBlock => ({ type: 'header', text: { type: 'plain_text', text } });

/** The app's Home tab for one person: what waits for them, their decisions, their own merge requests. */
export function renderHome(c: HomeContent): HomeView {
  const blocks: KnownBlock[] = [];
  if (c.notice) blocks.push(context(`:information_source: ${fit(c.notice, 1500)}`));
  blocks.push(header(c.waiting.length ? `Waiting for you (${c.waiting.length})` : 'Nothing waits for you'));
  if (c.waiting.length === 0) blocks.push(section(':white_check_mark: No check you may decide is waiting.'));
  for (const check of c.waiting.slice(0, HOME_WAITING_LIMIT)) {
    const rule = check.ruleName ? `rule *${fit(check.ruleName, 80)}*` : 'default rule';
    const freeze = c.freezeOf(check);
    const details = [`waiting ${age(check.receivedAt, c.now)}`, rule, approvalsLine(check), ...(freeze ? [`:snowflake: ${fit(freeze, 200)}`] : [])];
    blocks.push(section(joinLines([name(check), details.join(' · ')])), {
      type: 'actions',
      block_id: `home_decide_${check.id}`,
      elements: [
        { type: 'button', action_id: APPROVE_ACTION, style: 'primary', text: { type: 'plain_text', text: 'Approve' }, value: String(check.id) },
        { type: 'button', action_id: REJECT_ACTION, style: 'danger', text: { type: 'plain_text', text: 'Reject' }, value: String(check.id) },
      ],
    });
  }
  const more = c.waiting.length - HOME_WAITING_LIMIT;
  if (more > 0) {
    blocks.push(context(`…and ${more} more${c.webListUrl ? `: ${link(c.webListUrl, 'see them all on the web list')}` : ' on the web list'}.`));
  }

  blocks.push({ type: 'divider' }, header('Your recent decisions'));
  if (c.recent.length === 0) blocks.push(context('You have not decided anything yet.'));
  else {
    const lines = c.recent.slice(0, RECENT_LIMIT).map(({ check, outcome, decidedAt }) => {
      const verb = outcome === 'approve' ? ':large_green_circle: approved' : ':red_circle: rejected';
      const history = c.historyUrl(check.id);
      return `${verb} ${name(check)} ${age(decidedAt, c.now)} ago${history ? ` · ${link(history, 'history')}` : ''}`;
    });
    blocks.push(section(joinLines(lines)));
  }

  if (c.mine && c.mine.length > 0) {
    const lines = c.mine.slice(0, MINE_LIMIT).map((check) => `${name(check)}\nwaiting ${age(check.receivedAt, c.now)} · ${approvalsLine(check)}`);
    blocks.push({ type: 'divider' }, header('Your merge requests waiting on others'), section(joinLines(lines)));
  }
  if (c.webListUrl) blocks.push(context(`Everything, with history: ${link(c.webListUrl, 'the approvals web list')}`));
  return { type: 'home', blocks };
}

export interface HomeTabOptions {
  gate: Gate;
  store: Pick<PeoplePort, 'homeViewHash' | 'setHomeViewHash'>;
  client: webApi.WebClient;
  clock: () => Date;
  /** A Slack person's e-mail (users.info), to find their own merge requests. */
  emailOf: (userId: string) => Promise<string | null>;
  webListUrl: string | null;
  historyUrl: (checkId: number) => string | null;
  /** Freeze windows on rules plug in here; none until they exist. */
  freezeOf?: (check: Check) => string | null;
}

/** Draws and publishes people's Home tabs: when they open it, and after decisions (outbox). */
export class HomeTab {
  constructor(readonly o: HomeTabOptions) {}

  async view(userId: string, notice?: string | null): Promise<HomeView> {
    const { gate, clock } = this.o;
    const actor = { via: 'slack' as const, id: userId, name: userId };
    const { checks } = await gate.pendingFor(actor, 1000);
    let mine: Check[] | null = null;
    try {
      const email = await this.o.emailOf(userId);
      if (email) mine = (await gate.pendingAuthoredBy(email, 50)).filter((c) => !checks.some((w) => w.id === c.id));
    } catch {
      // Slack did not say who this is just now: the tab shows the rest.
    }
    return renderHome({
      waiting: [...checks].reverse(),
      recent: await gate.decisionsBy(actor, RECENT_LIMIT),
      mine,
      now: clock(),
      webListUrl: this.o.webListUrl,
      historyUrl: this.o.historyUrl,
      freezeOf: this.o.freezeOf ?? (() => null),
      notice,
    });
  }

  /** Publishes now (the person is looking); returns the view's fingerprint. */
  async publish(userId: string, notice?: string | null): Promise<string> {
    const view = await this.view(userId, notice);
    await this.o.client.views.publish({ user_id: userId, view });
    const hash = fingerprint(view);
    await this.o.store.setHomeViewHash(userId, hash);
    return hash;
  }

  /** The outbox handler that draws an open Home tab again after a decision. */
  deliveries(): Pick<DeliveryHandlers, 'refresh_home'> {
    return {
      refresh_home: {
        deliver: async ({ payload }) => {
          const { userId } = payload;
          const view = await this.view(userId);
          const hash = fingerprint(view);
          // Several decisions in a row: publish only what changed.
          if ((await this.o.store.homeViewHash(userId)) === hash) return;
          try {
            await this.o.client.views.publish({ user_id: userId, view });
          } catch (error) {
            throw explainSlackError(error);
          }
          return () => this.o.store.setHomeViewHash(userId, hash);
        },
      },
    };
  }
}

const fingerprint = (view: HomeView): string => crypto.createHash('sha256').update(JSON.stringify(view.blocks)).digest('hex');
