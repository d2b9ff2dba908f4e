import type { DeliveryHandlers } from '../delivery/handlers.js';
import { planReportFailure } from '../domain/lifecycle.js';
import type { AuditPort, CheckPort } from '../ports.js';
import type { PostNote } from './merge-request.js';
import type { ReportToGitLab } from './reporter.js';

interface Options {
  store: Pick<CheckPort, 'setReport' | 'markStale'> & Pick<AuditPort, 'audit'>;
  clock: () => Date;
  report: ReportToGitLab;
  postNote: PostNote;
  /** The check changed: its card should say so (the gate decides whether there is a card). */
  cardChanged: (checkId: number) => Promise<void>;
  /** GitLab refused the report for good (the author is told). */
  reportRefused?: (checkId: number) => Promise<void>;
}

/** Reporting decisions and posting notes: the GitLab lane of the outbox. Every outcome is shown on the card. */
export function gitlabDeliveries({ store, report, postNote, clock, cardChanged: updateCard, reportRefused }: Options): Pick<DeliveryHandlers, 'report' | 'note'> {
  return {
    report: {
      async deliver({ checkId, payload }) {
        const sent = payload;
        await report(sent);
        if (sent.withdrawal) return () => store.audit({ checkId, event: 'withdrawal_reported', sha: sent.sha, detail: sent.status }, clock());
        return async () => {
          await store.setReport(checkId, 'reported', null, clock());
          await store.audit({ checkId, event: 'reported', sha: sent.sha, detail: sent.status }, clock());
          await updateCard(checkId);
        };
      },
      async failed({ checkId, attempts, payload }, failure, final) {
        // What a refusal means is the domain's (a 409 makes the check stale); this only writes it.
        const plan = planReportFailure(payload, { message: failure.message, status: failure.status, final, attempts });
        if (plan.record?.as === 'stale') await store.markStale(checkId, plan.record.error, clock());
        else if (plan.record) await store.setReport(checkId, plan.record.as, plan.record.error, clock());
        if (plan.audit) await store.audit({ checkId, event: plan.audit, sha: payload.sha, detail: failure.message }, clock());
        if (plan.updateCard) await updateCard(checkId);
        if (plan.tellAuthor) await reportRefused?.(checkId);
      },
    },
    note: {
      async deliver({ checkId, payload }) {
        const note = payload;
        await postNote(note.projectId, note.mergeRequestIid, note.body);
        return () => store.audit({ checkId, event: 'note_posted' }, clock());
      },
      async failed({ checkId }, failure, final) {
        if (final) await store.audit({ checkId, event: 'note_failed', detail: failure.message }, clock());
      },
    },
  };
}
