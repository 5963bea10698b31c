//! Pipelines as code: the file format, the project folder, the built-in blocks and the engine.

mod attempts;
pub mod blocks;
pub mod condition;
mod context;
pub mod engine;
mod fan_out;
pub mod project;
pub mod python;
pub mod spec;

pub use context::{
    BlockContext, BlockInfo, BlockServices, PipelineInfo, Progress, RunOutcome, StopReason,
    StopSignal,
};
pub use engine::{Engine, Execution, Limited};
pub use project::{BrokenPipeline, Project};
pub use spec::{Block, BlockPlan, Pipeline};
