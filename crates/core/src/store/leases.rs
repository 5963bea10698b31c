//! Named leases: the store's way to let one of several processes act at a time.

use super::LeaseStore;
use crate::clock;
use crate::error::Result;
use std::time::Duration;

impl LeaseStore {
    /// Take or renew the lease `name` for `holder` for `ttl`. True if `holder` has it now:
    /// it was free, expired, or already `holder`'s. One statement, so two takers cannot both win.
    pub async fn acquire_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool> {
        let now = chrono::Utc::now();
        let expires =
            now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(30));
        let row = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.expires_at < $4 OR leases.holder = excluded.holder \
             RETURNING holder",
        )
        .bind(name)
        .bind(holder)
        .bind(clock::format_time(expires))
        .bind(clock::format_time(now))
        .fetch_optional(&self.writer)
        .await?;
        Ok(row.is_some())
    }

    /// Give a lease up (graceful shutdown), so another holder need not wait for it to expire.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
