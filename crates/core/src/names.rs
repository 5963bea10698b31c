//! Rules for user-chosen names (models), checked everywhere a name enters the system.

use crate::error::{Error, Result};

/// A model name: 1 to 128 characters of letters, digits, `_`, `-` and `.`, not starting with
/// a dot or a dash (so it is safe in URLs and paths).
pub fn check_model_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
        && !name.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_field("model", format!("invalid model name {name:?}: use 1 to 128 letters, digits, '_', '-' or '.', not starting with '.' or '-'")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        assert!(check_model_name("churn").is_ok());
        assert!(check_model_name("credit-risk.v2").is_ok());
        for bad in ["", "../x", "a b", ".hidden", "-x", &"x".repeat(129)] {
            assert!(check_model_name(bad).is_err(), "{bad}");
        }
    }
}
