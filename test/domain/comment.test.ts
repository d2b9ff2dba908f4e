import { describe, expect, it } from 'vitest';
import { refuseMissingComment } from '../../src/domain/rules.js';

const asks = { name: 'payments', approveWithComment: true };
const doesNotAsk = { name: 'default', approveWithComment: false };

describe('a rule that asks for a comment with each approval', () => {
  it.each<[string, typeof asks, 'approve' | 'reject', string | null, boolean]>([
    ['an approval with a comment', asks, 'approve', 'Reviewed the plan.', false],
    ['an approval without one', asks, 'approve', null, true],
    ['an approval with an empty one', asks, 'approve', '', true],
    ['an approval with blanks only', asks, 'approve', ' \n\t\r\n ', true],
    ['a rejection without a reason', asks, 'reject', null, false],
    ['an approval under a rule that does not ask', doesNotAsk, 'approve', null, false],
  ])('%s: refused %s', (_story, rule, outcome, reason, refused) => {
    const refusal = refuseMissingComment(rule, outcome, reason);
    expect(refusal !== null).toBe(refused);
    if (refusal) expect(refusal).toMatchObject({ code: 'comment_required', message: expect.stringContaining('“payments”') });
  });
});
