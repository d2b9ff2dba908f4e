import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { openStore } from '../../src/store/store.js';
import { APPROVER, startHarness, tempDir, type Harness } from '../support/harness.js';

/** The value of one series in Prometheus text format, 0 when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('metrics for operators', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  const scrape = async () => {
    const res = await fetch(`${h.bot.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('exposes checks, decisions, deliveries and latencies, and they move with a check and its decision', async () => {
    const before = await scrape();
    for (const name of [
      'approval_checks_received_total',
      'approval_decisions_total',
      'approval_deliveries',
      'approval_delivery_oldest_pending_seconds',
      'approval_checks_pending',
      'approval_webhook_duration_seconds',
      'approval_gitlab_request_duration_seconds',
      'approval_slack_request_duration_seconds',
    ]) {
      expect(before).toContain(`# TYPE ${name} `);
    }
    expect(sample(before, 'approval_checks_received_total{outcome="accepted"}')).toBe(0);

    const id = (await h.receive()).body.id as number;
    await fetch(`${h.bot.url}/status_check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await h.slack.waitFor('chat.postMessage');
    const received = await scrape();
    expect(sample(received, 'approval_checks_received_total{outcome="accepted"}')).toBe(1);
    expect(sample(received, 'approval_checks_received_total{outcome="bad_signature"}')).toBe(1);
    expect(sample(received, 'approval_checks_pending')).toBe(1);
    expect(sample(received, 'approval_webhook_duration_seconds_count')).toBe(2);
    expect(sample(received, 'approval_slack_request_duration_seconds_count{kind="post_card",outcome="delivered"}')).toBe(1);

    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.waitForResponses(1);
    await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('Reported to GitLab'));
    const decided = await scrape();
    expect(sample(decided, 'approval_decisions_total{outcome="approve",via="slack"}')).toBe(1);
    expect(sample(decided, 'approval_gitlab_request_duration_seconds_count{kind="report",outcome="delivered"}')).toBe(1);
    expect(sample(decided, 'approval_checks_pending')).toBe(0);
    expect(sample(decided, 'approval_deliveries{state="pending"}')).toBe(0);
  });

  it('counts failed deliveries and the age of the oldest waiting one', async () => {
    h.gitlab.queue({ status: 500, body: { message: 'down' } }, { status: 404, body: { message: '404 Not found' } });
    const id = (await h.receive()).body.id as number;
    await h.click(APPROVER, 'approve_check', id);
    await h.gitlab.requests.waitFor(() => true, 2);
    await h.slack.waitFor('chat.update', 1, (c) => JSON.stringify(c.body.blocks).includes('GitLab refused the report'));
    const text = await scrape();
    expect(sample(text, 'approval_deliveries{state="failed"}')).toBe(1);
    expect(sample(text, 'approval_gitlab_request_duration_seconds_count{kind="report",outcome="retry"}')).toBe(1);
    expect(sample(text, 'approval_gitlab_request_duration_seconds_count{kind="report",outcome="failed"}')).toBe(1);
  });
});

describe('a scrape', () => {
  it('reads the outbox once for the gauges that show it, and afresh at the next scrape', async () => {
    const dir = tempDir();
    const store = await openStore(path.join(dir, 'approvals.db'));
    try {
      let reads = 0;
      const readings = {
        deliveryStats: (nowMs: number) => {
          reads += 1;
          return store.deliveryStats(nowMs);
        },
        countPending: () => store.countPending(),
      };
      const metrics = new Metrics(readings);
      const first = await metrics.render();
      expect(sample(first, 'approval_deliveries{state="pending"}')).toBe(0);
      expect(first).toContain('approval_delivery_oldest_pending_seconds 0');
      expect(reads).toBe(1);
      await metrics.render();
      expect(reads).toBe(2);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
