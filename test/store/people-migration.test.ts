import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrations } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/store.js';
import { tempDir } from '../support/harness.js';

describe('votes recorded before accounts were kept', () => {
  let dir: string;
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('name their account after the upgrade, and their e-mail links it', async () => {
    dir = tempDir();
    const file = path.join(dir, 'approvals.db');
    // A database as the previous version left it: three migrations, one pending check, old votes.
    const old = new Database(file);
    migrations.slice(0, 3).forEach((migration) => old.exec(migration.sqlite));
    old.pragma('user_version = 3');
    old
      .prepare(
        `INSERT INTO status_check (id, project_id, project_path, project_url, merge_request_iid, merge_request_title, merge_request_url,
           source_branch, target_branch, sha, external_status_check_id, external_status_check_name, merge_request_state, state,
           received_at, updated_at, approvals_required)
         VALUES (1, 42, 'acme/api', 'https://gitlab.example.com/acme/api', 7, 't', 'u', 'f', 'main', 'abc', 7, 'c', 'opened', 'pending', 'x', 'x', 5)`,
      )
      .run();
    const vote = old.prepare(
      `INSERT INTO decision (check_id, outcome, actor_id, actor_name, via, sha, decided_at, person) VALUES (1, 'approve', ?, ?, ?, 'abc', '2026-12-01T00:00:00Z', ?)`,
    );
    vote.run('U0SLACK', 'sam', 'slack', 'email:sam@example.com');
    vote.run('KPatel', 'Kiran', 'web', 'gitlab:KPatel');
    vote.run('kiran.p', 'Kiran P', 'web', 'email:kiran@example.com');
    vote.run('alice', 'alice', 'web', 'password:alice');
    vote.run('U0OTHER', 'o', 'slack', 'slack:U0OTHER');
    old.close();

    const store = await openStore(file);
    try {
      expect(await store.approvingAccounts(1, 'abc')).toEqual(['slack:U0SLACK', 'gitlab:kpatel', 'gitlab:kiran.p', 'web:alice', 'slack:U0OTHER']);
      expect(await store.sightingsAround(['slack:U0SLACK'])).toEqual([{ account: 'slack:U0SLACK', seen: 'email:sam@example.com' }]);
      expect(await store.sightingsAround(['gitlab:kiran.p'])).toEqual([{ account: 'gitlab:kiran.p', seen: 'email:kiran@example.com' }]);
    } finally {
      await store.close();
    }
  });
});
