//! What a queue delivers: a run id and the backend's handle to acknowledge it by. Both
//! backends and the queue itself read this; it reads none of them.

/// A delivered run id, to acknowledge once the run's outcome is recorded.
#[derive(Debug, Clone)]
pub struct Job {
    /// The run to execute.
    pub run_id: String,
    /// The backend's id of the message (the Redis stream entry), if it has one.
    pub entry_id: Option<String>,
}
