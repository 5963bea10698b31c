//! Triggers: what starts pipeline runs besides a person. Cron schedules (with a time zone),
//! intervals, API calls and files appearing in a watched folder, stored in the metadata store
//! and fired by the scheduler that holds the scheduler lease.
//!
//! Firing takes the time as an argument ([`Triggers::fire_due_triggers`]), so schedules
//! are tested with a controlled clock rather than by waiting for the minute to turn.

mod firing;
mod project_file;
mod service;
mod spec;

pub use firing::Fired;
pub use service::Triggers;
pub use spec::{matches_pattern, CatchUp, TriggerFields, TriggerSpec};
