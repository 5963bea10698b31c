//! `noop`: does nothing, with any upstream blocks. A join point for branches, a placeholder
//! while a pipeline is drafted, and what the engine's overhead benchmark is made of.

use super::output::Output;
use crate::error::Result;
use crate::pipeline::context::BlockContext;
use serde::Deserialize;

/// The block's config: none.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl Config {
    pub(super) fn validate(&self) -> Result<()> {
        Ok(())
    }
}

pub(super) async fn run(
    _ctx: &BlockContext,
    _config: Config,
    _inputs: Vec<Output>,
) -> Result<Output> {
    Ok(Output::Empty)
}
