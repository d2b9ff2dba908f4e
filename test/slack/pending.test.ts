import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, pendingAnswer, sha, startHarness, statusCheck, type Harness } from '../support/harness.js';
import { mergeRequestInto, startWithPolicy } from '../support/policy.js';
import { sampleEvent } from '../support/samples.js';

type Element = { type: string; action_id?: string; value?: string; text?: string | { text: string } };
type Block = { type: string; block_id?: string; text?: { text: string }; elements?: Element[] };
interface PendingAnswer {
  response_type: string;
  text: string;
  blocks: Block[];
}

/** `/pending` is acknowledged at once; its answer comes through the response_url. */
async function pending(h: Harness): Promise<PendingAnswer> {
  return (await pendingAnswer(h)) as unknown as PendingAnswer;
}

const buttons = (answer: PendingAnswer) => answer.blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);
/** The check ids listed, in the order shown. */
const listed = (answer: PendingAnswer) => answer.blocks.filter((b) => b.type === 'actions').map((b) => Number(b.elements?.[0]?.value));

describe('/pending: what still waits for a decision', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('lists only the checks still pending, privately, with buttons for each', async () => {
    const first = (await h.receive(statusCheck({ iid: 128, title: 'Retry card capture' }))).body.id as number;
    const second = (await h.receive(statusCheck({ iid: 129, title: 'Rotate webhook keys' }))).body.id as number;
    await h.click(APPROVER, 'approve_check', first);
    await h.gitlab.waitForResponses(1);

    const answer = await pending(h);
    expect(answer.response_type).toBe('ephemeral');
    expect(listed(answer)).toEqual([second]);
    expect(buttons(answer)).toEqual([
      expect.objectContaining({ action_id: 'approve_check', value: String(second) }),
      expect.objectContaining({ action_id: 'reject_check', value: String(second) }),
    ]);
    const text = JSON.stringify(answer.blocks);
    expect(text).toContain('acme/payments-api!129');
    expect(text).toContain('Rotate webhook keys');
    expect(text).not.toContain('acme/payments-api!128');
    expect(text).toContain('*1 check waiting for a decision*');
  });

  it('shows the newest first', async () => {
    const ids: number[] = [];
    for (const iid of [201, 202, 203]) ids.push((await h.receive(statusCheck({ iid }))).body.id as number);
    expect(listed(await pending(h))).toEqual([...ids].reverse());
  });

  it('says so when nothing waits', async () => {
    const answer = await pending(h);
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toBe('Nothing waits for a decision.');
    expect(buttons(answer)).toEqual([]);
  });

  it('with more than 15 waiting, shows the 15 newest and links to the web list for the rest', async () => {
    const ids: number[] = [];
    for (let iid = 300; iid < 317; iid += 1) ids.push((await h.receive(statusCheck({ iid }))).body.id as number);
    const answer = await pending(h);
    expect(listed(answer)).toEqual(ids.slice(-15).reverse());
    const text = JSON.stringify(answer.blocks);
    expect(text).toContain('*17 checks waiting for a decision*');
    expect(text).toContain('…and 2 more');
    expect(text).toContain('<https://approvals.example.com/|see them all on the web list>');
  });

  it('a click in the /pending list approves and reaches GitLab, and the clicker is told', async () => {
    const id = (await h.receive()).body.id as number;
    await h.slack.waitFor('chat.postMessage');
    const answer = await pending(h);
    const approve = buttons(answer).find((b) => b.action_id === 'approve_check');
    expect(approve?.value).toBe(String(id));

    const click = await h.click(APPROVER, 'approve_check', Number(approve!.value), { ephemeral: true });
    expect(click.status).toBe(200);
    const [report] = await h.gitlab.waitForResponses(1);
    expect(report!.body).toMatchObject({ status: 'passed', external_status_check_id: 7, sha: '9f2c4e1b7a3d5c6e8f0a1b2c3d4e5f60718293a4' });
    const [told] = await h.slack.waitFor('response_url', 1, (c) => c.body.text !== undefined && c.body.blocks === undefined);
    expect(told!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false, text: 'You approved acme/payments-api!128.' });
    // The card in the channel changes too.
    await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
    expect(await h.bot.store.getCheck(id)).toMatchObject({ state: 'approved', decidedBy: APPROVER, decidedVia: 'slack' });
  });
});

describe('/pending behind a BASE_PATH', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness({ BASE_PATH: '/approval-apps' });
  });
  afterEach(async () => {
    await h.stop();
  });

  it('links to the web list under the prefix', async () => {
    for (let iid = 400; iid < 416; iid += 1) await h.receive(statusCheck({ iid }));
    const text = JSON.stringify((await pending(h)).blocks);
    expect(text).toContain('<https://approvals.example.com/approval-apps/|see them all on the web list>');
  });
});

describe('/pending among many checks of other teams', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('finds the checks a person may decide behind a thousand newer ones of another team, and counts them all', async () => {
    h = await startWithPolicy(`rules:\n  - name: payments\n    projects: acme/payments-*\n    approvers: { slack: [U0PAY1] }\n`);
    const older = (await h.receive(mergeRequestInto('acme/payments-api', 'main'))).body.id as number;
    const web = { ...sampleEvent, projectPath: 'acme/web', targetBranch: 'main' };
    await h.bot.store.transaction(async () => {
      for (let i = 0; i < 1100; i += 1) {
        await h.bot.store.insertCheck({ ...web, mergeRequestIid: 1000 + i, sha: sha(1000 + i) }, 'pending', null, { name: 'default', required: 1 }, new Date()).then((c) => c.id);
      }
    });
    const newer = (await h.receive(mergeRequestInto('acme/payments-api', 'main', { iid: 900 }))).body.id as number;

    const answer = (await pendingAnswer(h, 'U0PAY1')) as unknown as PendingAnswer;
    expect(listed(answer)).toEqual([newer, older]);
    expect(JSON.stringify(answer.blocks)).toContain('*2 checks waiting for a decision*');
    // The other team's approvers see theirs, counted in full though only 15 are listed.
    const theirs = (await pendingAnswer(h, APPROVER)) as unknown as PendingAnswer;
    expect(listed(theirs)).toHaveLength(15);
    expect(JSON.stringify(theirs.blocks)).toContain('*1100 checks waiting for a decision*');
  });
});
