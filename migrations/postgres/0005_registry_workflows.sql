-- Registry workflows: per-model policy (validation gates, approvals, keep-latest-N),
-- Production approval requests, soft deletion of versions, and approvers in the audit log.

CREATE TABLE model_policies (
    model               TEXT PRIMARY KEY,
    gates               TEXT NOT NULL,
    required_approvals  BIGINT NOT NULL,
    keep_latest_n       BIGINT,
    updated_by          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

-- The gate verdict at registration: NULL (no gates), 'passed' or 'failed' with the reason.
ALTER TABLE model_versions ADD COLUMN gate_status TEXT;
ALTER TABLE model_versions ADD COLUMN gate_reason TEXT;
-- A deleted version keeps its row (so its number is never reused) but leaves every listing.
ALTER TABLE model_versions ADD COLUMN deleted_at TEXT;

ALTER TABLE transitions ADD COLUMN approvers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE transitions ADD COLUMN request_id BIGINT;

CREATE TABLE approval_requests (
    id                  BIGSERIAL PRIMARY KEY,
    model               TEXT NOT NULL,
    version             BIGINT NOT NULL,
    status              TEXT NOT NULL,
    reason              TEXT NOT NULL,
    requested_by        TEXT NOT NULL,
    required_approvals  BIGINT NOT NULL,
    decided_by          TEXT,
    decision_reason     TEXT,
    created_at          TEXT NOT NULL,
    decided_at          TEXT
);
CREATE INDEX approval_requests_by_model ON approval_requests (model, status);
-- One open request per version at a time.
CREATE UNIQUE INDEX one_pending_request_per_version ON approval_requests (model, version) WHERE status = 'pending';

CREATE TABLE approvals (
    request_id  BIGINT NOT NULL REFERENCES approval_requests (id),
    approver    TEXT NOT NULL,
    comment     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (request_id, approver)
);
