import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appHomeOpened, eventCallback } from '../../src/fakes/slack.js';
import { APPROVER, startHarness, type Harness } from '../support/harness.js';
import { FakeSocketMode } from '../../src/fakes/socket-mode.js';

const APP_TOKEN = 'xapp-1-test';

describe('Socket Mode delivers the Home tab’s event too', () => {
  let socket: FakeSocketMode;
  let h: Harness;
  beforeEach(async () => {
    socket = await FakeSocketMode.start();
    h = await startHarness(
      { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' },
      { beforeStart: ({ slack }) => slack.acceptSocketMode(APP_TOKEN, () => socket.linkUrl()) },
    );
  });
  afterEach(async () => {
    await h.stop();
    await socket.close();
  });

  it('app_home_opened over the socket is acknowledged and publishes that person’s Home tab', async () => {
    const id = (await h.receive()).body.id as number;
    const { envelope, ack } = await socket.deliver('events_api', eventCallback(appHomeOpened(APPROVER)));
    expect(ack.envelope_id).toBe(envelope.envelope_id);
    const [publish] = await h.slack.waitFor('views.publish', 1, (c) => c.body.user_id === APPROVER);
    const text = JSON.stringify((publish!.body.view as { blocks: unknown[] }).blocks);
    expect(text).toContain('Waiting for you (1)');
    expect(text).toContain(`"value":"${id}"`);
  });
});
