//! Child processes that ironmage talks to: the frames exchanged over their pipes, how their
//! end is described, and the process group that is killed with them. Shared by the pipeline's
//! Python block runner and the flavors crate's pyfunc workers.

mod exit;
pub mod frames;
mod group;

pub use exit::describe_status;
pub use group::ProcessGroup;
