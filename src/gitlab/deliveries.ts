import type { ReportPayload } from '../gate.js';
import type { DeliveryHandler } from '../delivery/worker.js';
import type { Store } from '../store/store.js';
import type { ReportToGitLab } from './reporter.js';

/** Reporting decisions: the GitLab lane of the outbox. Every outcome is shown on the card. */
export function gitlabDeliveries({ store, report, clock }: { store: Store; report: ReportToGitLab; clock: () => Date }): Record<string, DeliveryHandler> {
  const updateCard = (checkId: number) => {
    const check = store.getCheck(checkId);
    if (check?.slackTs || store.hasPendingDelivery(checkId, 'post_card')) store.enqueue(checkId, 'slack', 'update_card', null, clock());
  };
  return {
    report: {
      async deliver({ checkId, payload }) {
        await report(payload as ReportPayload);
        return () => {
          store.setReport(checkId, 'reported', null, clock());
          updateCard(checkId);
        };
      },
      failed({ checkId, attempts }, failure, final) {
        if (final && failure.status === 409) {
          store.markStale(checkId, failure.message, clock());
        } else if (final) {
          store.setReport(checkId, 'failed', failure.message, clock());
        } else {
          store.setReport(checkId, 'sending', failure.message, clock());
          // Say so on the card once; later retries only change the web list and logs.
          if (attempts > 0) return;
        }
        updateCard(checkId);
      },
    },
  };
}
