import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../src/store/store.js';
import { testDatabase } from '../support/database.js';
import { tempDir } from '../support/harness.js';
import { sampleEvent } from '../support/samples.js';

describe('a new check as the store gives it back', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = tempDir();
    store = await openStore(await testDatabase(dir));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is the check as it is read back, field for field', async () => {
    const event = { ...sampleEvent, draft: true, commitAuthorEmail: 'Ada@Example.com', updatedAt: new Date('2026-12-01T08:59:00.000Z') };
    const inserted = await store.insertCheck(event, 'pending', 'b'.repeat(40), { name: 'payments', required: 2 }, new Date('2026-12-01T09:00:00.000Z'));
    expect(inserted).toEqual(await store.getCheck(inserted.id));
    expect(inserted).toMatchObject({ state: 'pending', draft: true, previousSha: 'b'.repeat(40), approvalsRequired: 2, ruleName: 'payments', approvals: [] });
  });
});
