-- Named leases: one holder at a time, until it expires or is renewed. The scheduler holds
-- `scheduler` so that only one of several scheduler processes acts at a time.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
