//! Named secrets: connection URLs, passwords and tokens that blocks use but that never sit in a
//! pipeline file, the metadata database or a log.
//!
//! A secret comes from the environment of the process that runs the block (the executor, or
//! `ironmage up`), as `IRONMAGE_SECRET_<NAME>`, or from a YAML file of `name: value` lines named
//! by `IRONMAGE_SECRETS_FILE`, which must not be readable by group or others (as ssh requires of
//! its keys). A block's config refers to one as `${secret.name}`, anywhere inside a string
//! (`postgres://etl:${secret.warehouse_password}@db/sales`); the reference is replaced just
//! before the block runs, so what is stored and fingerprinted is the reference, not the value.
//! Every line a block logs and every error it ends with has the values replaced by `****`.

use crate::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Environment variables whose names start with this are secrets (the rest of the name,
/// lower-cased, is the secret's name).
pub const ENV_PREFIX: &str = "IRONMAGE_SECRET_";

/// The environment variable naming a secrets file.
pub const FILE_VAR: &str = "IRONMAGE_SECRETS_FILE";

/// Values shorter than this are not masked in logs: masking `1` or `ab` would garble every
/// line without hiding anything worth hiding.
pub const MIN_MASKED_LEN: usize = 4;

/// How a masked value reads in logs and errors.
const MASK: &str = "****";

impl Secrets {
    /// The secrets of this process: `IRONMAGE_SECRET_*` variables, then the file named by
    /// `IRONMAGE_SECRETS_FILE` (whose values win).
    pub fn from_env() -> Result<Secrets> {
        let mut values: BTreeMap<String, String> = std::env::vars()
            .filter_map(|(key, value)| {
                let name = key.strip_prefix(ENV_PREFIX)?;
                Some((name.to_ascii_lowercase(), value))
            })
            .collect();
        if let Some(path) = std::env::var_os(FILE_VAR).filter(|p| !p.is_empty()) {
            values.extend(read_file(Path::new(&path))?);
        }
        Ok(Secrets::from_values(values))
    }

    /// Secrets given by name (tests, embedding).
    pub fn from_values(values: BTreeMap<String, String>) -> Secrets {
        let mut masked: Vec<String> = values
            .values()
            .filter(|v| v.chars().count() >= MIN_MASKED_LEN)
            .cloned()
            .collect();
        // Longest first, so that a secret containing another is masked whole.
        masked.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Secrets {
            values: Arc::new(values),
            masked: masked.into(),
        }
    }

    /// The secrets' names (never their values).
    pub fn names(&self) -> Vec<String> {
        self.values.keys().cloned().collect()
    }

    /// The value of the secret `name`, for code that takes a setting by name rather than
    /// through a `${secret.name}` reference in a config (the object store's credentials).
    pub fn get(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// `config` with every `${secret.name}` inside its strings replaced by the value. A name
    /// that is not set is an error naming the config field.
    pub fn resolve(&self, config: &Value) -> Result<Value> {
        self.resolve_at(config, "config")
    }

    fn resolve_at(&self, value: &Value, path: &str) -> Result<Value> {
        Ok(match value {
            Value::String(s) if s.contains("${secret.") => Value::String(self.substitute(s, path)?),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve_at(v, &format!("{path}.{k}"))?)))
                    .collect::<Result<_>>()?,
            ),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.resolve_at(v, &format!("{path}[{i}]")))
                    .collect::<Result<_>>()?,
            ),
            other => other.clone(),
        })
    }

    fn substitute(&self, text: &str, path: &str) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${secret.") {
            out.push_str(&rest[..start]);
            let after = &rest[start + "${secret.".len()..];
            let Some(end) = after.find('}') else {
                return Err(Error::invalid_field(
                    path,
                    "an unclosed ${secret. reference",
                ));
            };
            let name = &after[..end];
            let value = self.values.get(name).ok_or_else(|| {
                Error::invalid_field(
                    path,
                    format!(
                        "secret {name:?} is not set (set {ENV_PREFIX}{} or add it to the file named by {FILE_VAR}, for the process that runs the block)",
                        name.to_ascii_uppercase()
                    ),
                )
            })?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `text` with every secret value (of at least [`MIN_MASKED_LEN`] characters) replaced by
    /// `****`, longest first so that a secret containing another is masked whole.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for value in self.masked.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), MASK);
            }
        }
        out
    }
}

/// A secrets file: a YAML map of names to strings, readable by its owner only.
fn read_file(path: &Path) -> Result<BTreeMap<String, String>> {
    let fail = |why: String| Error::invalid_field(FILE_VAR, format!("{}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(fail(format!(
                "is readable by group or others (mode {mode:o}); chmod 600 it"
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let values: BTreeMap<String, Value> = serde_yaml::from_str(&text)
        .map_err(|e| fail(format!("not a YAML map of names to values: {e}")))?;
    values
        .into_iter()
        .map(|(name, value)| match value {
            Value::String(s) => Ok((name, s)),
            Value::Number(n) => Ok((name, n.to_string())),
            _ => Err(fail(format!("the value of {name:?} is not a string"))),
        })
        .collect()
}

/// The secrets a process has; cheap to clone. Its `Debug` lists names, never values.
#[derive(Clone, Default)]
pub struct Secrets {
    values: Arc<BTreeMap<String, String>>,
    /// The values [`Secrets::mask`] hides, in the order it hides them: sorted once here rather
    /// than on every log line.
    masked: Arc<[String]>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.names())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets() -> Secrets {
        Secrets::from_values(BTreeMap::from([
            ("pg_password".to_string(), "s3cr3t-pass".to_string()),
            ("token".to_string(), "abc".to_string()),
        ]))
    }

    #[test]
    fn references_are_replaced_anywhere_in_strings_and_unknown_ones_name_the_field() {
        let resolved = secrets()
            .resolve(&json!({"url": "postgres://etl:${secret.pg_password}@db/sales", "list": ["${secret.token}", 3]}))
            .unwrap();
        assert_eq!(
            resolved,
            json!({"url": "postgres://etl:s3cr3t-pass@db/sales", "list": ["abc", 3]})
        );
        let err = secrets()
            .resolve(&json!({"nested": {"url": "${secret.nope}"}}))
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("config.nested.url"));
        assert!(
            err.message.contains("IRONMAGE_SECRET_NOPE"),
            "{}",
            err.message
        );
    }

    #[test]
    fn values_are_masked_in_text_and_short_ones_are_left() {
        let s = secrets();
        assert_eq!(
            s.mask("cannot connect to postgres://etl:s3cr3t-pass@db (abc)"),
            "cannot connect to postgres://etl:****@db (abc)"
        );
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[cfg(unix)]
    #[test]
    fn a_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.yaml");
        std::fs::write(&path, "pg_password: s3cr3t-pass\nport: 5432\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_file(&path).unwrap_err();
        assert!(err.message.contains("chmod 600"), "{}", err.message);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let values = read_file(&path).unwrap();
        assert_eq!(values["pg_password"], "s3cr3t-pass");
        assert_eq!(values["port"], "5432");
    }
}
