//! A service's OpenAPI document is generated from its handlers and also committed, so people
//! can read it without running anything. This is the check that keeps the two equal, for any
//! HTTP role (the web role uses it; the prediction role can adopt it): a test calls
//! [`check_committed`] with the generated text, and with [`UPDATE_VAR`]`=1` the same test
//! rewrites the file instead.

use std::path::Path;

/// The environment variable that makes [`check_committed`] write the file instead of failing.
pub const UPDATE_VAR: &str = "UPDATE_OPENAPI";

/// `Ok` when the file at `committed` holds exactly `generated` (or [`UPDATE_VAR`] is `1`
/// and the file was rewritten to it); else an error naming the first differing line and
/// how to regenerate (`regenerate`: the command, e.g. `UPDATE_OPENAPI=1 cargo nextest run -p
/// ironmage-web openapi`).
pub fn check_committed(generated: &str, committed: &Path, regenerate: &str) -> Result<(), String> {
    let current = std::fs::read_to_string(committed).unwrap_or_default();
    if current == generated {
        return Ok(());
    }
    if std::env::var(UPDATE_VAR).as_deref() == Ok("1") {
        return std::fs::write(committed, generated)
            .map_err(|e| format!("cannot write {}: {e}", committed.display()));
    }
    let (line, (ours, theirs)) = generated
        .lines()
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(current.lines().map(Some).chain(std::iter::repeat(None)))
        .enumerate()
        .find(|(_, (g, c))| g != c)
        .map(|(i, pair)| (i + 1, pair))
        .unwrap_or((0, (None, None)));
    Err(format!(
        "{} is not the document the code generates (first difference at line {line}:\n  committed: {}\n  generated: {}).\nRegenerate it with: {regenerate}\nand commit it with the code change.",
        committed.display(),
        theirs.unwrap_or("<end of file>"),
        ours.unwrap_or("<end of file>"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_text_passes_and_a_difference_names_its_line_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("openapi.json");
        std::fs::write(&file, "{\n  \"a\": 1\n}\n").unwrap();
        assert_eq!(
            check_committed("{\n  \"a\": 1\n}\n", &file, "regen"),
            Ok(())
        );
        if std::env::var(UPDATE_VAR).as_deref() == Ok("1") {
            return; // the update mode rewrites instead of failing
        }
        let err = check_committed("{\n  \"a\": 2\n}\n", &file, "regen").unwrap_err();
        assert!(
            err.contains("line 2") && err.contains("\"a\": 1") && err.contains("\"a\": 2"),
            "{err}"
        );
        assert!(err.contains("Regenerate it with: regen"), "{err}");
        let missing = check_committed("x\n", &dir.path().join("none.json"), "regen").unwrap_err();
        assert!(missing.contains("<end of file>"), "{missing}");
    }
}
