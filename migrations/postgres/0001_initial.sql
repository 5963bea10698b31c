-- ironmage metadata schema (PostgreSQL). Timestamps are RFC 3339 UTC text with milliseconds,
-- so they sort as text; JSON documents are text. The SQLite twin keeps the same columns.

CREATE TABLE runs (
    id            TEXT PRIMARY KEY,
    pipeline      TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    variables     TEXT NOT NULL,
    status        TEXT NOT NULL,
    holder        TEXT,
    heartbeat_at  TEXT,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    ended_at      TEXT,
    error         TEXT,
    summary       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX runs_by_status ON runs (status, created_at);
CREATE INDEX runs_by_pipeline ON runs (pipeline, created_at);

CREATE TABLE block_runs (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    block       TEXT NOT NULL,
    position    BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    BIGINT NOT NULL DEFAULT 0,
    started_at  TEXT,
    ended_at    TEXT,
    error       TEXT,
    logs        TEXT NOT NULL DEFAULT '',
    preview     TEXT,
    PRIMARY KEY (run_id, block)
);

CREATE TABLE datasets (
    version        TEXT PRIMARY KEY,
    hash           TEXT NOT NULL UNIQUE,
    row_count      BIGINT NOT NULL,
    feature_count  BIGINT NOT NULL,
    feature_names  TEXT NOT NULL,
    label          TEXT NOT NULL,
    label_rate     DOUBLE PRECISION NOT NULL,
    artifact       TEXT NOT NULL,
    run_id         TEXT,
    created_at     TEXT NOT NULL
);

CREATE TABLE registered_models (
    name         TEXT PRIMARY KEY,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE model_versions (
    model            TEXT NOT NULL REFERENCES registered_models (name),
    version          BIGINT NOT NULL,
    label            TEXT NOT NULL,
    stage            TEXT NOT NULL,
    run_id           TEXT,
    dataset_version  TEXT,
    artifacts        TEXT NOT NULL,
    metrics          TEXT NOT NULL,
    hyperparameters  TEXT NOT NULL,
    lineage          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (model, version),
    UNIQUE (model, label)
);
-- The database, not the code, guarantees one Production version per model.
CREATE UNIQUE INDEX one_production_per_model ON model_versions (model) WHERE stage = 'Production';

CREATE TABLE transitions (
    id          BIGSERIAL PRIMARY KEY,
    model       TEXT NOT NULL,
    version     BIGINT NOT NULL,
    from_stage  TEXT NOT NULL,
    to_stage    TEXT NOT NULL,
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX transitions_by_model ON transitions (model, version);

CREATE TABLE deployments (
    id          BIGSERIAL PRIMARY KEY,
    model       TEXT NOT NULL,
    version     BIGINT NOT NULL,
    run_id      TEXT,
    status      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE predictions (
    id          TEXT PRIMARY KEY,
    model       TEXT NOT NULL,
    version     BIGINT,
    label       TEXT,
    source      TEXT NOT NULL,
    input       TEXT NOT NULL,
    output      TEXT NOT NULL,
    latency_us  BIGINT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX predictions_by_version ON predictions (model, version, created_at);
