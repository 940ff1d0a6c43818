-- Times are INTEGER milliseconds since the Unix epoch (UTC); JSON columns are TEXT.
CREATE TABLE tasks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    project           TEXT    NOT NULL,
    task_id           TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN
        ('pending', 'blocked', 'claimed', 'running', 'completed', 'failed', 'deadletter', 'cancelled')),
    blocked_reason    TEXT,
    blocked_kind      TEXT,
    priority          INTEGER NOT NULL,
    estimated_minutes INTEGER NOT NULL,
    timeout_seconds   INTEGER NOT NULL,
    depends_on        TEXT    NOT NULL DEFAULT '[]',
    modifies          TEXT    NOT NULL DEFAULT '[]',
    exclusive         INTEGER NOT NULL DEFAULT 0,
    executor          TEXT    NOT NULL,
    max_retries       INTEGER NOT NULL,
    metadata          TEXT    NOT NULL DEFAULT '{}',
    spec_path         TEXT    NOT NULL,
    spec_hash         TEXT    NOT NULL,
    spec_content      TEXT    NOT NULL,
    attempt           INTEGER NOT NULL DEFAULT 0,
    retry_base        INTEGER NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    node              TEXT,
    not_before        INTEGER,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    started_at        INTEGER,
    finished_at       INTEGER,
    collected_at      INTEGER,
    UNIQUE (project, task_id)
);
CREATE INDEX tasks_claim_idx ON tasks (state, priority, id);
-- The exclusive-task check and per-project counts look up a project's tasks by state.
CREATE INDEX tasks_project_state_idx ON tasks (project, state);
CREATE INDEX tasks_lease_idx ON tasks (lease_expires_at);

CREATE TABLE task_dependencies (
    task_pk       INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on_pk INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_pk, depends_on_pk)
);
CREATE INDEX task_dependencies_depends_on_idx ON task_dependencies (depends_on_pk);

CREATE TABLE task_paths (
    task_pk INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    path    TEXT    NOT NULL,
    PRIMARY KEY (task_pk, path)
);

CREATE TABLE locks (
    project     TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    task_pk     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    PRIMARY KEY (project, path)
);
CREATE INDEX locks_task_idx ON locks (task_pk);

CREATE TABLE attempts (
    task_pk     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    lease_owner TEXT    NOT NULL,
    node        TEXT    NOT NULL,
    claimed_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    outcome     TEXT,
    exit_code   INTEGER,
    error       TEXT,
    log_path    TEXT,
    PRIMARY KEY (task_pk, attempt)
);

CREATE TABLE nodes (
    name          TEXT    PRIMARY KEY,
    state         TEXT    NOT NULL,
    slots         INTEGER NOT NULL,
    executors     TEXT    NOT NULL DEFAULT '[]',
    version       TEXT    NOT NULL,
    worker_id     TEXT,
    running_count INTEGER NOT NULL DEFAULT 0,
    quarantined_at INTEGER,
    quarantine_reason TEXT,
    -- failures before this time no longer count towards quarantine
    failures_reset_at INTEGER,
    started_at    INTEGER NOT NULL,
    heartbeat_at  INTEGER NOT NULL
);

CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    project  TEXT,
    task_id  TEXT,
    type     TEXT    NOT NULL,
    node     TEXT,
    attempt  INTEGER,
    details  TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_task_idx ON events (project, task_id, id);
CREATE INDEX events_at_idx ON events (at);
