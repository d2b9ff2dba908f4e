import type { Store } from '../../src/store/store.js';
import { sampleEvent } from './samples.js';

/** The moment the query-plan tests' checks arrive, and their reads ask around. */
export const PLANS_AT = new Date('2026-12-01T09:00:00.000Z');

/**
 * 70 checks in every state, several times over (so that each list has a second page), with
 * votes, card errors, reminders, deliveries and audit events: what the reads behind the pages
 * and Slack answers look through. The same rows on SQLite and PostgreSQL.
 */
export async function seedForPlans(store: Store, at = PLANS_AT): Promise<void> {
  const rule = { name: 'default', required: 1 };
  await store.transaction(async () => {
    for (let i = 1; i <= 70; i += 1) {
      const id = await store.insertCheck({ ...sampleEvent, mergeRequestIid: i, sha: i.toString(16).padStart(40, '0') }, 'pending', null, rule, new Date(at.getTime() + i)).then((c) => c.id);
      const vote = (outcome: 'approve' | 'reject') =>
        store.vote(id, { outcome, actor: { via: 'slack', id: 'U0A', name: 'A' }, account: 'slack:U0A', reason: null, decides: true }, at);
      const state = i % 7;
      if (state === 1) await vote('approve');
      if (state === 2) await vote('reject');
      if (state === 3) await store.markStale(id, 'newer commit', at);
      if (state === 4) await store.retire(id, 'superseded', at);
      if (state === 5) await store.retire(id, 'closed', at);
      if (state === 6) await store.retire(id, 'merged', at);
      if (i % 5 === 0) await store.setCardError(id, 'channel_not_found', at);
      await store.scheduleNudge(id, 'remind', at.getTime() + i);
      await store.enqueue(id, { kind: 'post_card', payload: null }, at);
      await store.audit({ checkId: id, event: 'received' }, at);
    }
  });
}
