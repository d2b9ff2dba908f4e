import type { DeliveryHandlers } from '../delivery/handlers.js';
import type { Store } from '../store/store.js';
import type { PostNote } from './merge-request.js';
import type { ReportToGitLab } from './reporter.js';

interface Options {
  store: Store;
  clock: () => Date;
  report: ReportToGitLab;
  postNote: PostNote;
  /** The check changed: its card should say so (the gate decides whether there is a card). */
  cardChanged: (checkId: number) => void;
  /** GitLab refused the report for good (the author is told). */
  reportRefused?: (checkId: number) => void;
}

/** Reporting decisions and posting notes: the GitLab lane of the outbox. Every outcome is shown on the card. */
export function gitlabDeliveries({ store, report, postNote, clock, cardChanged: updateCard, reportRefused }: Options): Pick<DeliveryHandlers, 'report' | 'note'> {
  return {
    report: {
      async deliver({ checkId, payload }) {
        const sent = payload;
        await report(sent);
        if (sent.withdrawal) return () => store.audit({ checkId, event: 'withdrawal_reported', sha: sent.sha, detail: sent.status }, clock());
        return () => {
          store.setReport(checkId, 'reported', null, clock());
          store.audit({ checkId, event: 'reported', sha: sent.sha, detail: sent.status }, clock());
          updateCard(checkId);
        };
      },
      failed({ checkId, attempts, payload }, failure, final) {
        const { sha, withdrawal } = payload;
        if (withdrawal) {
          if (!final) return;
          store.audit({ checkId, event: 'withdrawal_failed', sha, detail: failure.message }, clock());
          // After a push (409) the old approval does not carry over to the new commit; anything else leaves it standing.
          if (failure.status !== 409) {
            store.setReport(checkId, 'failed', `The approval could not be withdrawn in GitLab: ${failure.message}`, clock());
            updateCard(checkId);
          }
          return;
        }
        if (final && failure.status === 409) {
          store.markStale(checkId, failure.message, clock());
        } else if (final) {
          store.setReport(checkId, 'failed', failure.message, clock());
        } else {
          store.setReport(checkId, 'sending', failure.message, clock());
          // Say so on the card once; later retries only change the web list and logs.
          if (attempts > 0) return;
        }
        store.audit({ checkId, event: final ? 'report_failed' : 'report_retrying', sha, detail: failure.message }, clock());
        updateCard(checkId);
        if (final) reportRefused?.(checkId);
      },
    },
    note: {
      async deliver({ checkId, payload }) {
        const note = payload;
        await postNote(note.projectId, note.mergeRequestIid, note.body);
        return () => store.audit({ checkId, event: 'note_posted' }, clock());
      },
      failed({ checkId }, failure, final) {
        if (final) store.audit({ checkId, event: 'note_failed', detail: failure.message }, clock());
      },
    },
  };
}
