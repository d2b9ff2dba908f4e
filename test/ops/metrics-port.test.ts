import { afterEach, describe, expect, it } from 'vitest';
import { configProblems, minimalEnv } from '../support/samples.js';
import { startHarness, type Harness } from '../support/harness.js';

describe('METRICS_PORT: metrics off the public port', () => {
  let h: Harness;
  afterEach(async () => {
    await h.stop();
  });

  it('serves /metrics on METRICS_PORT only, and that port serves nothing else', async () => {
    h = await startHarness({ METRICS_PORT: '0' });
    expect(h.bot.metricsPort).toBeTypeOf('number');
    expect(h.bot.metricsPort).not.toBe(h.bot.port);

    const publicMetrics = await fetch(`${h.bot.url}/metrics`);
    expect(publicMetrics.status).toBe(404);
    expect(await publicMetrics.text()).not.toContain('approval_checks_received_total');

    const metrics = await fetch(`http://127.0.0.1:${h.bot.metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('# TYPE approval_checks_received_total counter');
    for (const other of ['/healthz', '/', '/status_check', '/slack/events']) {
      expect((await fetch(`http://127.0.0.1:${h.bot.metricsPort}${other}`)).status, other).toBe(404);
    }
    // The public port keeps serving everything else.
    expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.bot.url}/readyz`)).status).toBe(200);
  });

  it('without METRICS_PORT, /metrics stays on the public port', async () => {
    h = await startHarness();
    expect(h.bot.metricsPort).toBeNull();
    expect((await fetch(`${h.bot.url}/metrics`)).status).toBe(200);
  });
});

describe('METRICS_PORT setting', () => {
  it('refuses a value that is not a port', () => {
    expect(configProblems({ ...minimalEnv, METRICS_PORT: 'nine' })).toContain('METRICS_PORT must be a port number');
    expect(configProblems({ ...minimalEnv, METRICS_PORT: '70000' }).join('\n')).toMatch(/METRICS_PORT/);
  });
});
