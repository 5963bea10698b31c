//! A child's process group, killed when the guard is dropped: a block that is cancelled or
//! times out leaves nothing behind, not even the processes its code started.

/// Kills the process group led by a child started with `process_group(0)`, unless disarmed.
#[derive(Debug)]
pub struct ProcessGroup(Option<u32>);

impl ProcessGroup {
    /// Guard the group of the child with this pid (none: nothing to kill).
    pub fn new(pid: Option<u32>) -> ProcessGroup {
        ProcessGroup(pid)
    }

    /// The child ended by itself: nothing to kill.
    pub fn disarm(&mut self) {
        self.0 = None;
    }

    /// Kill the group now.
    pub fn kill(&mut self) {
        if let Some(pid) = self.0.take() {
            // The group id is the child's pid (process_group(0)); `kill -- -pid` reaches
            // every process it started. `kill` the program, since this crate has no unsafe code.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}
