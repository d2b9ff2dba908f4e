import type { types, webApi } from '@slack/bolt';
import type { DeliveryHandlers } from '../delivery/handlers.js';
import type { Check } from '../domain/check.js';
import type { Authors } from '../domain/policy.js';
import type { AuthorNoticePayload } from '../domain/effects.js';
import type { AuditPort, CheckPort } from '../ports.js';
import { actorLabel, approvalsLine } from './card.js';
import { explainSlackError } from './errors.js';
import { fit, link } from './mrkdwn.js';

type KnownBlock = types.KnownBlock;

export interface AuthorNoticeOptions {
  client: webApi.WebClient;
  store: Pick<CheckPort, 'getCheck'> & Pick<AuditPort, 'audit'>;
  clock: () => Date;
  /** Who wrote the merge request, from GitLab: the author's own e-mail first, then the commits'. */
  findAuthors: (check: Check) => Promise<Authors>;
  historyUrl: (checkId: number) => string | null;
}

/** What the author reads, in words; user text escaped and bounded. */
export function authorNotice(check: Check, about: AuthorNoticePayload['about'], history: string | null): { text: string; blocks: KnownBlock[] } {
  const ref = `${check.projectPath}!${check.mergeRequestIid}`;
  // An absurdly long URL is left out rather than cut: a section holds 3000 characters.
  const mr = `${check.url.length <= 500 ? link(check.url, ref) : fit(ref, 300)} ${fit(check.title, 200)}`;
  const by = check.decidedVia === 'slack' ? actorLabel(check) : `${fit(check.decidedByName ?? check.decidedBy ?? 'someone', 100)} (web)`;
  // Quoting adds a character per line: 800 escaped characters stay under 1600 quoted.
  const reason = check.reason ? `\n>${fit(check.reason, 800).replace(/\n/g, '\n>')}` : '';
  const decided = check.state === 'approved' ? 'approved' : 'rejected';
  const lines: Record<AuthorNoticePayload['about'], string> = {
    approved: `:large_green_circle: Your merge request ${mr} was *approved* by ${by}. GitLab’s status check “${fit(check.statusCheckName, 100)}” turns green.`,
    rejected: `:red_circle: Your merge request ${mr} was *rejected* by ${by}.${reason || '\nNo reason was given.'}`,
    regated: `:leftwards_arrow_with_hook: The approval of your merge request ${mr} was *withdrawn*: rule “${fit(check.ruleName ?? 'default', 100)}” governs it now (${approvalsLine(check)}). Its approvers were asked again.`,
    report_refused: `:warning: Your merge request ${mr} was ${decided} by ${by}, but *GitLab refused the report*: ${fit(check.reportError ?? 'no reason given', 500)}. The status check in GitLab did not change.`,
  };
  const blocks: KnownBlock[] = [{ type: 'section', text: { type: 'mrkdwn', text: lines[about] } }];
  if (history) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: link(history, 'History of this check') }] });
  const plain: Record<AuthorNoticePayload['about'], string> = {
    approved: 'approved',
    rejected: 'rejected',
    regated: 'approval withdrawn',
    report_refused: 'GitLab refused the report',
  };
  return { text: fit(`${check.projectPath}!${check.mergeRequestIid} ${plain[about]}: ${check.title}`, 300), blocks };
}

const isNotFound = (error: unknown) => (error as { data?: { error?: string } }).data?.error === 'users_not_found';

/**
 * The outbox handler that tells a merge request's author what happened: a direct message
 * to the Slack person whose e-mail matches theirs (`users.lookupByEmail`). Nobody matches:
 * nothing is sent.
 */
export function authorNotices({ client, store, clock, findAuthors, historyUrl }: AuthorNoticeOptions): Pick<DeliveryHandlers, 'notify_author'> {
  return {
    notify_author: {
      async deliver({ checkId, payload }) {
        const check = await store.getCheck(checkId);
        if (!check) return;
        const { about } = payload;
        const authors = await findAuthors(check);
        const emails = [...new Set([...authors.emails, ...(check.commitAuthorEmail ? [check.commitAuthorEmail] : [])].map((e) => e.toLowerCase()))];
        let userId: string | null = null;
        for (const email of emails) {
          try {
            const found = await client.users.lookupByEmail({ email });
            userId = found.user?.id ?? null;
          } catch (error) {
            if (isNotFound(error)) continue;
            throw explainSlackError(error);
          }
          if (userId) break;
        }
        // Nobody in Slack has the author's e-mail: there is nobody to tell.
        if (!userId) return;
        try {
          await client.chat.postMessage({ channel: userId, ...authorNotice(check, about, historyUrl(checkId)), unfurl_links: false, unfurl_media: false });
        } catch (error) {
          throw explainSlackError(error);
        }
        const told = userId;
        return () => store.audit({ checkId, event: 'author_notified', sha: check.sha, detail: `${about}, Slack user ${told}` }, clock());
      },
    },
  };
}
