-- Experiment tracking (MLflow's data model) and registry metadata: descriptions, tags, aliases.
-- Times here are epoch milliseconds (BIGINT), as MLflow's clients send and expect them.

CREATE TABLE experiments (
    id                 BIGINT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    artifact_location  TEXT NOT NULL,
    lifecycle_stage    TEXT NOT NULL,
    created_ms         BIGINT NOT NULL,
    updated_ms         BIGINT NOT NULL
);
-- MLflow clients expect experiment "0", named Default, on a fresh server.
INSERT INTO experiments (id, name, artifact_location, lifecycle_stage, created_ms, updated_ms)
VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', 0, 0);

CREATE TABLE experiment_tags (
    experiment_id  BIGINT NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    key            TEXT NOT NULL,
    value          TEXT NOT NULL,
    PRIMARY KEY (experiment_id, key)
);

CREATE TABLE tracking_runs (
    id               TEXT PRIMARY KEY,
    experiment_id    BIGINT NOT NULL REFERENCES experiments (id),
    name             TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    status           TEXT NOT NULL,
    start_ms         BIGINT NOT NULL,
    end_ms           BIGINT,
    lifecycle_stage  TEXT NOT NULL
);
CREATE INDEX tracking_runs_by_experiment ON tracking_runs (experiment_id, start_ms);

CREATE TABLE run_tags (
    run_id  TEXT NOT NULL REFERENCES tracking_runs (id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE run_params (
    run_id  TEXT NOT NULL REFERENCES tracking_runs (id) ON DELETE CASCADE,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

-- Every logged point; the same point logged twice is kept once.
CREATE TABLE metric_history (
    run_id        TEXT NOT NULL REFERENCES tracking_runs (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         DOUBLE PRECISION NOT NULL,
    timestamp_ms  BIGINT NOT NULL,
    step          BIGINT NOT NULL,
    model_id      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, key, step, timestamp_ms, value, model_id)
);

-- The latest point per key (highest step, then latest timestamp): what searches filter on.
CREATE TABLE latest_metrics (
    run_id        TEXT NOT NULL REFERENCES tracking_runs (id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         DOUBLE PRECISION NOT NULL,
    timestamp_ms  BIGINT NOT NULL,
    step          BIGINT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE logged_models (
    id             TEXT PRIMARY KEY,
    experiment_id  BIGINT NOT NULL REFERENCES experiments (id),
    name           TEXT NOT NULL,
    source_run_id  TEXT,
    status         TEXT NOT NULL,
    model_type     TEXT NOT NULL DEFAULT '',
    created_ms     BIGINT NOT NULL,
    updated_ms     BIGINT NOT NULL
);
CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, name);

CREATE TABLE logged_model_tags (
    model_id  TEXT NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE logged_model_params (
    model_id  TEXT NOT NULL REFERENCES logged_models (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (model_id, key)
);

CREATE TABLE run_outputs (
    run_id    TEXT NOT NULL REFERENCES tracking_runs (id) ON DELETE CASCADE,
    model_id  TEXT NOT NULL,
    step      BIGINT NOT NULL,
    PRIMARY KEY (run_id, model_id)
);

-- Path index over the content-addressed artifact store: `<exp>/<run>/artifacts/<file>` or
-- `<exp>/models/<model id>/artifacts/<file>` → the file's sha256 reference.
CREATE TABLE artifact_files (
    path        TEXT PRIMARY KEY,
    sha         TEXT NOT NULL,
    size        BIGINT NOT NULL,
    created_ms  BIGINT NOT NULL
);

CREATE TABLE registered_model_tags (
    model  TEXT NOT NULL REFERENCES registered_models (name) ON DELETE CASCADE,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (model, key)
);

-- A version's description and last change. (A version registered through MLflow records its
-- `source`, models:/m-… or runs:/…, in its lineage, written with the version itself.)
CREATE TABLE model_version_meta (
    model         TEXT NOT NULL,
    version       BIGINT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    updated_ms    BIGINT NOT NULL,
    PRIMARY KEY (model, version),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version) ON DELETE CASCADE
);

CREATE TABLE model_version_tags (
    model    TEXT NOT NULL,
    version  BIGINT NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (model, version, key),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version) ON DELETE CASCADE
);

-- An alias names one version; deleting the version drops its aliases.
CREATE TABLE model_aliases (
    model    TEXT NOT NULL,
    alias    TEXT NOT NULL,
    version  BIGINT NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version) ON DELETE CASCADE
);
