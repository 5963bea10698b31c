//! A block's scratch folder for handing files to and from a child process, removed when the
//! block ends, however it ends (success, failure, timeout, cancel).

use crate::error::Result;
use crate::pipeline::context::BlockContext;
use std::path::{Path, PathBuf};

/// A fresh folder under the system's temp folder, named for the run and block.
pub(super) struct WorkDir(PathBuf);

impl WorkDir {
    /// Create the folder of this block attempt.
    pub(super) fn create(ctx: &BlockContext) -> Result<WorkDir> {
        let dir = std::env::temp_dir().join(format!(
            "ironmage-{}-{}-{}",
            ctx.run_id,
            ctx.block_name(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(WorkDir(dir))
    }

    /// The folder.
    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
