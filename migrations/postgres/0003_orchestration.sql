-- Orchestration: cancelling runs, re-running a failed run from the failed block, triggers.

-- A running run is cancelled by its executor, which sees this flag on its next heartbeat.
ALTER TABLE runs ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
-- The failed run this one re-runs (its succeeded blocks' outputs are reused).
ALTER TABLE runs ADD COLUMN rerun_of TEXT;

-- What a block's output was computed from (kind, resolved config, upstream fingerprints) and
-- where the output is stored, so that a re-run reuses it only when nothing it depends on changed.
ALTER TABLE block_runs ADD COLUMN fingerprint TEXT;
ALTER TABLE block_runs ADD COLUMN output_ref TEXT;

-- Triggers start runs: on a cron schedule, every interval, on an API call, or when a file
-- appears in a watched folder. `spec` holds the kind's settings as JSON.
CREATE TABLE triggers (
    id             TEXT PRIMARY KEY,
    pipeline       TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    spec           TEXT NOT NULL,
    variables      TEXT NOT NULL DEFAULT '{}',
    catch_up       TEXT NOT NULL DEFAULT 'skip',
    enabled        BIGINT NOT NULL DEFAULT 1,
    source         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    next_fire_at   TEXT,
    last_fired_at  TEXT,
    last_run_id    TEXT,
    last_outcome   TEXT,
    UNIQUE (pipeline, name)
);

-- Files a file trigger has already fired for (path and modification time), so that a restart
-- does not fire again for the same file.
CREATE TABLE trigger_files (
    trigger_id  TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
    path        TEXT NOT NULL,
    modified    TEXT NOT NULL,
    seen_at     TEXT NOT NULL,
    PRIMARY KEY (trigger_id, path, modified)
);
