//! Pipelines as code: the file format, the project folder, the built-in blocks and the engine.

pub mod blocks;
pub mod engine;
pub mod project;
pub mod spec;

pub use engine::{Progress, RunOutcome};
pub use project::{BrokenPipeline, Project};
pub use spec::{Block, Pipeline};
