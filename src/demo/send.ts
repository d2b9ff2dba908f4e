import crypto from 'node:crypto';
import { sendStatusCheck } from '../fakes/gitlab.js';
import demoSample from './sample-status-check.json' with { type: 'json' };

/**
 * `npm run demo:send -- <bot URL>`: sends the running demo another signed sample status
 * check, as GitLab would, for a new merge request each time. The demo prints the exact line.
 */
const DEMO_WEBHOOK_SECRET = 'demo-webhook-secret';

async function main(): Promise<void> {
  const target = process.argv[2] ?? 'http://localhost:3000';
  if (!/^https?:\/\/[^/]+/.test(target)) throw new Error(`"${target}" is not the bot's URL: pass the one the demo printed, such as http://localhost:3000`);
  // A copy: each run changes the merge request it sends.
  const sample = structuredClone(demoSample);
  const mr = sample.object_attributes;
  mr.iid = 200 + crypto.randomInt(800);
  mr.title = `Sample change #${mr.iid}`;
  mr.url = mr.url.replace(/\/\d+$/, `/${mr.iid}`);
  mr.last_commit.id = crypto.randomBytes(20).toString('hex');
  mr.updated_at = new Date().toISOString();
  const answer = await sendStatusCheck(`${target.replace(/\/+$/, '')}/status_check`, sample, DEMO_WEBHOOK_SECRET);
  process.stdout.write(`Sent merge request !${mr.iid}: HTTP ${answer.status} ${JSON.stringify(answer.body)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`Could not send the sample check: ${error.message}\n`);
  process.exit(1);
});
