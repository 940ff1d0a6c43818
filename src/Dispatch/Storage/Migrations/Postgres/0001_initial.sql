-- Tasks: one row per (project, task_id); the spec fields plus the run state.
CREATE TABLE tasks (
    id                BIGSERIAL PRIMARY KEY,
    project           TEXT        NOT NULL,
    task_id           TEXT        NOT NULL,
    state             TEXT        NOT NULL,
    blocked_reason    TEXT,
    blocked_kind      TEXT,
    priority          INTEGER     NOT NULL,
    estimated_minutes INTEGER     NOT NULL,
    timeout_seconds   INTEGER     NOT NULL,
    depends_on        JSONB       NOT NULL DEFAULT '[]',
    modifies          JSONB       NOT NULL DEFAULT '[]',
    exclusive         BOOLEAN     NOT NULL DEFAULT FALSE,
    executor          TEXT        NOT NULL,
    max_retries       INTEGER     NOT NULL,
    metadata          JSONB       NOT NULL DEFAULT '{}',
    spec_path         TEXT        NOT NULL,
    spec_hash         TEXT        NOT NULL,
    spec_content      TEXT        NOT NULL,
    attempt           INTEGER     NOT NULL DEFAULT 0,
    -- attempts made before the last operator retry: attempts left = max_retries + 1 - (attempt - retry_base)
    retry_base        INTEGER     NOT NULL DEFAULT 0,
    lease_owner       TEXT,
    lease_expires_at  TIMESTAMPTZ,
    node              TEXT,
    not_before        TIMESTAMPTZ,
    last_error        TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    started_at        TIMESTAMPTZ,
    finished_at       TIMESTAMPTZ,
    collected_at      TIMESTAMPTZ,
    CONSTRAINT tasks_project_task_id_key UNIQUE (project, task_id),
    CONSTRAINT tasks_state_check CHECK (state IN
        ('pending', 'blocked', 'claimed', 'running', 'completed', 'failed', 'deadletter', 'cancelled'))
);

-- The claim query scans pending tasks in priority order.
CREATE INDEX tasks_claim_idx ON tasks (state, priority, id);
-- The exclusive-task check and per-project counts look up a project's tasks by state.
CREATE INDEX tasks_project_state_idx ON tasks (project, state);
CREATE INDEX tasks_lease_idx ON tasks (lease_expires_at) WHERE state IN ('claimed', 'running');

-- Resolved dependency edges: task_pk waits for depends_on_pk to complete.
CREATE TABLE task_dependencies (
    task_pk       BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on_pk BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_pk, depends_on_pk)
);
CREATE INDEX task_dependencies_depends_on_idx ON task_dependencies (depends_on_pk);

-- The normalised `modifies` paths of each task, one row per path, so the
-- claim query can test them against the held locks.
CREATE TABLE task_paths (
    task_pk BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    path    TEXT   NOT NULL,
    PRIMARY KEY (task_pk, path)
);

-- File locks held by claimed and running tasks. Paths are scoped to a project
-- because `modifies` paths are relative to that project's repository.
CREATE TABLE locks (
    project     TEXT        NOT NULL,
    path        TEXT        NOT NULL,
    task_pk     BIGINT      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt     INTEGER     NOT NULL,
    acquired_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project, path)
);
CREATE INDEX locks_task_idx ON locks (task_pk);

-- One row per claim of a task.
CREATE TABLE attempts (
    task_pk     BIGINT      NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt     INTEGER     NOT NULL,
    lease_owner TEXT        NOT NULL,
    node        TEXT        NOT NULL,
    claimed_at  TIMESTAMPTZ NOT NULL,
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    outcome     TEXT,
    exit_code   INTEGER,
    error       TEXT,
    log_path    TEXT,
    PRIMARY KEY (task_pk, attempt)
);

CREATE TABLE nodes (
    name          TEXT        PRIMARY KEY,
    state         TEXT        NOT NULL,
    slots         INTEGER     NOT NULL,
    executors     JSONB       NOT NULL DEFAULT '[]',
    version       TEXT        NOT NULL,
    worker_id     TEXT,
    running_count INTEGER     NOT NULL DEFAULT 0,
    quarantined_at TIMESTAMPTZ,
    quarantine_reason TEXT,
    -- failures before this time no longer count towards quarantine
    failures_reset_at TIMESTAMPTZ,
    started_at    TIMESTAMPTZ NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL
);

-- The history: one row per transition and per notable occurrence.
CREATE TABLE events (
    id       BIGSERIAL   PRIMARY KEY,
    at       TIMESTAMPTZ NOT NULL,
    project  TEXT,
    task_id  TEXT,
    type     TEXT        NOT NULL,
    node     TEXT,
    attempt  INTEGER,
    details  JSONB       NOT NULL DEFAULT '{}'
);
CREATE INDEX events_task_idx ON events (project, task_id, id);
CREATE INDEX events_at_idx ON events (at);
