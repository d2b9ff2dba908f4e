/**
 * Schema migrations, applied in order at start-up. `PRAGMA user_version` records how many
 * have run. Append new ones; never edit one that has shipped.
 */
export const migrations: readonly string[] = [
  // 1: checks, the decisions on them, and the outbox of effects still to deliver.
  `
  CREATE TABLE status_check (
    id                         INTEGER PRIMARY KEY,
    project_id                 INTEGER NOT NULL,
    project_path               TEXT    NOT NULL,
    project_url                TEXT    NOT NULL,
    merge_request_iid          INTEGER NOT NULL,
    merge_request_title        TEXT    NOT NULL,
    merge_request_url          TEXT    NOT NULL,
    source_branch              TEXT    NOT NULL,
    target_branch              TEXT    NOT NULL,
    sha                        TEXT    NOT NULL,
    external_status_check_id   INTEGER NOT NULL,
    external_status_check_name TEXT    NOT NULL,
    commit_author              TEXT,
    triggered_by               TEXT,
    merge_request_state        TEXT    NOT NULL,
    draft                      INTEGER NOT NULL DEFAULT 0,
    state                      TEXT    NOT NULL CHECK (state IN
                                 ('pending','approved','rejected','superseded','closed','merged','stale')),
    previous_sha               TEXT,
    decided_by                 TEXT,
    decided_by_name            TEXT,
    decided_via                TEXT CHECK (decided_via IN ('slack','web')),
    decided_at                 TEXT,
    reason                     TEXT,
    report_state               TEXT    NOT NULL DEFAULT 'none' CHECK (report_state IN
                                 ('none','sending','reported','failed')),
    report_error               TEXT,
    reported_at                TEXT,
    slack_channel              TEXT,
    slack_ts                   TEXT,
    card_error                 TEXT,
    received_at                TEXT    NOT NULL,
    updated_at                 TEXT    NOT NULL,
    UNIQUE (project_id, merge_request_iid, external_status_check_id, sha)
  );
  CREATE INDEX status_check_by_state ON status_check (state, id);

  CREATE TABLE decision (
    id          INTEGER PRIMARY KEY,
    check_id    INTEGER NOT NULL REFERENCES status_check (id),
    outcome     TEXT    NOT NULL CHECK (outcome IN ('approve','reject')),
    actor_id    TEXT    NOT NULL,
    actor_name  TEXT    NOT NULL,
    via         TEXT    NOT NULL CHECK (via IN ('slack','web')),
    reason      TEXT,
    sha         TEXT    NOT NULL,
    decided_at  TEXT    NOT NULL
  );
  CREATE INDEX decision_by_check ON decision (check_id);

  CREATE TABLE delivery (
    id              INTEGER PRIMARY KEY,
    check_id        INTEGER NOT NULL REFERENCES status_check (id),
    lane            TEXT    NOT NULL CHECK (lane IN ('slack','gitlab')),
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','failed')),
    created_at      TEXT    NOT NULL
  );
  CREATE INDEX delivery_due ON delivery (lane, state, next_attempt_at);
  CREATE INDEX delivery_by_check ON delivery (check_id, lane, state);

  -- Written by the readiness probe: proves the database still takes writes.
  CREATE TABLE heartbeat (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL);
  `,
  // 2: approval policy (quorum), the audit trail, and clicks taken in before they are decided.
  `
  ALTER TABLE status_check ADD COLUMN approvals_required INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE status_check ADD COLUMN rule_name TEXT;
  -- Who a vote belongs to, so the same person counts once towards a quorum.
  ALTER TABLE decision ADD COLUMN person TEXT;
  UPDATE decision SET person = via || ':' || actor_id;

  CREATE TABLE audit_event (
    id        INTEGER PRIMARY KEY,
    at        TEXT    NOT NULL,
    check_id  INTEGER REFERENCES status_check (id),
    event     TEXT    NOT NULL,
    actor     TEXT,
    via       TEXT,
    sha       TEXT,
    detail    TEXT
  );
  CREATE INDEX audit_event_by_time ON audit_event (at, id);
  CREATE INDEX audit_event_by_check ON audit_event (check_id, id);
  CREATE TRIGGER audit_event_is_append_only_update BEFORE UPDATE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;
  CREATE TRIGGER audit_event_is_append_only_delete BEFORE DELETE ON audit_event
    BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;

  -- A click is written here before Slack is told it arrived, and removed once it is decided
  -- or refused: an acknowledged click survives a crash and is settled after the restart.
  CREATE TABLE decision_request (
    id          INTEGER PRIMARY KEY,
    check_id    INTEGER NOT NULL,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('approve','reject')),
    actor       TEXT    NOT NULL,
    reason      TEXT,
    received_at TEXT    NOT NULL
  );
  `,
  // 3: votes cast under a rule that no longer governs the check stop counting; the merge
  // request's own clock, to tell a late call from a new one.
  `
  ALTER TABLE decision ADD COLUMN voided INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE status_check ADD COLUMN mr_updated_at TEXT;
  `,
  // 4: the web list pages through decided checks by when they last changed (keyset, no OFFSET),
  // all of them or one state's, and asks for the newest change to know when to refresh.
  `
  CREATE INDEX status_check_by_change ON status_check (updated_at, id);
  CREATE INDEX status_check_by_state_change ON status_check (state, updated_at, id);
  `,
  // 5: who has the Slack Home tab open (to refresh it after a decision), and the e-mail of
  // the newest commit's author (to show people their own merge requests).
  `
  CREATE TABLE home_tab (
    user_id    TEXT PRIMARY KEY,
    opened_at  TEXT NOT NULL,
    -- What was last published, so a refresh that changes nothing is not sent.
    view_hash  TEXT
  );
  ALTER TABLE status_check ADD COLUMN commit_author_email TEXT;
  `,
  // 6: reminders and escalation, as durable work: one row per check and kind, due at a time;
  // when a check was escalated (its backup approvers may decide from then on).
  `
  ALTER TABLE status_check ADD COLUMN escalated_at TEXT;
  CREATE TABLE nudge (
    id        INTEGER PRIMARY KEY,
    check_id  INTEGER NOT NULL REFERENCES status_check (id),
    kind      TEXT    NOT NULL CHECK (kind IN ('remind','escalate')),
    due_at    INTEGER NOT NULL,
    UNIQUE (check_id, kind)
  );
  CREATE INDEX nudge_due ON nudge (due_at);
  `,
  // 7: a person is an account, not an address. Each vote names the account that cast it, and
  // every (account, e-mail or GitLab user id) pair the bot saw is kept: accounts that ever
  // shared one are one person. Older votes keyed by e-mail leave it as a sighting.
  `
  ALTER TABLE decision ADD COLUMN account TEXT;
  -- The account, from the old key where it names one; a web vote keyed by e-mail came from
  -- Sign in with GitLab (a WEB_USERS login has no e-mail).
  UPDATE decision SET account = CASE
    WHEN person LIKE 'slack:%' OR person LIKE 'web:%' THEN person
    WHEN person LIKE 'gitlab:%' THEN 'gitlab:' || lower(substr(person, 8))
    WHEN person LIKE 'password:%' THEN 'web:' || substr(person, 10)
    WHEN via = 'slack' THEN 'slack:' || actor_id
    ELSE 'gitlab:' || lower(actor_id)
  END;
  CREATE INDEX decision_by_check_sha ON decision (check_id, sha, outcome);

  CREATE TABLE account_sighting (
    account    TEXT NOT NULL,
    seen       TEXT NOT NULL, -- 'email:<address>' or 'gitlab-user:<id>'
    first_seen TEXT NOT NULL,
    PRIMARY KEY (account, seen)
  ) WITHOUT ROWID;
  CREATE INDEX account_sighting_by_seen ON account_sighting (seen, account);
  INSERT OR IGNORE INTO account_sighting (account, seen, first_seen)
    SELECT account, person, decided_at FROM decision WHERE person LIKE 'email:%';
  `,
  // 8: an emergency approval (break glass) is taken in like any click, and settled by its own path.
  `
  ALTER TABLE decision_request ADD COLUMN break_glass INTEGER NOT NULL DEFAULT 0;
  `,
  // 9: every page and Slack answer reads through an index that matches its query, at any size:
  // a check's audit trail in time order, the decided checks by change, the cards still to post,
  // and one person's votes.
  `
  CREATE INDEX audit_event_by_check_time ON audit_event (check_id, at, id);
  CREATE INDEX status_check_decided_by_change ON status_check (updated_at, id) WHERE state <> 'pending';
  CREATE INDEX status_check_pending_by_rule ON status_check (state, project_path, target_branch, escalated_at);
  CREATE INDEX status_check_without_card ON status_check (id)
    WHERE state = 'pending' AND slack_ts IS NULL AND card_error IS NOT NULL;
  CREATE INDEX decision_by_actor ON decision (actor_id, via, id);

  -- How many checks are in each state, kept by the database itself: counting a million rows
  -- for the web list's totals took longer than the page.
  CREATE TABLE check_count (state TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO check_count (state, n) SELECT state, count(*) FROM status_check GROUP BY state;
  CREATE TRIGGER check_count_insert AFTER INSERT ON status_check BEGIN
    INSERT INTO check_count (state, n) VALUES (new.state, 1) ON CONFLICT (state) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER check_count_update AFTER UPDATE OF state ON status_check WHEN old.state <> new.state BEGIN
    UPDATE check_count SET n = n - 1 WHERE state = old.state;
    INSERT INTO check_count (state, n) VALUES (new.state, 1) ON CONFLICT (state) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER check_count_delete AFTER DELETE ON status_check BEGIN
    UPDATE check_count SET n = n - 1 WHERE state = old.state;
  END;
  `,
];
