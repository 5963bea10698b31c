//! How much memory a process holds: the prediction service reports each loaded model's (the
//! resident growth of a native load, the workers' resident memory of a Python model).

/// The resident memory of process `pid` (this process when `None`), in bytes; 0 where /proc is
/// not there or the process is gone.
pub fn resident_bytes(pid: Option<u32>) -> u64 {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/statm"),
        None => "/proc/self/statm".to_string(),
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_resident_set_and_a_missing_one_has_none() {
        assert!(resident_bytes(None) > 0);
        assert!(resident_bytes(Some(std::process::id())) > 0);
        assert_eq!(resident_bytes(Some(u32::MAX)), 0);
    }
}
