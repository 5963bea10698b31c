//! The artifact store: a folder of immutable files named by the SHA-256 of their content.
//!
//! Writing the same bytes twice stores them once; every read checks the hash, so a corrupt or
//! tampered file is an error, never a silently different model.

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `sha256:<hex>` of some bytes.
pub fn sha256_ref(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Content-addressed files under one root folder.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    root: PathBuf,
}

impl ArtifactStore {
    /// Use (and create) `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<ArtifactStore> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|e| {
            Error::internal(format!(
                "cannot create artifact store {}: {e}",
                root.display()
            ))
        })?;
        Ok(ArtifactStore { root })
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Store `bytes` and return their reference `sha256:<hex>`.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let reference = sha256_ref(bytes);
        let path = self.path_of(&reference)?;
        if path.exists() {
            return Ok(reference);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Write aside then rename: a reader never sees a half-written artifact.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        Ok(reference)
    }

    /// Read the artifact and check its hash.
    pub fn get(&self, reference: &str) -> Result<Vec<u8>> {
        let path = self.path_of(reference)?;
        let bytes = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::not_found(format!(
                    "artifact {reference} is missing from {}",
                    self.root.display()
                ))
            } else {
                Error::internal(format!("cannot read artifact {reference}: {e}"))
            }
        })?;
        let actual = sha256_ref(&bytes);
        if actual != reference {
            return Err(Error::internal(format!(
                "artifact {reference} is corrupt: its content hashes to {actual}"
            )));
        }
        Ok(bytes)
    }

    fn path_of(&self, reference: &str) -> Result<PathBuf> {
        let hex = reference
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| Error::invalid(format!("not an artifact reference: {reference:?}")))?;
        Ok(self.root.join("sha256").join(&hex[..2]).join(hex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_dedup_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::open(dir.path()).unwrap();
        let a = store.put(b"hello").unwrap();
        assert_eq!(
            a,
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.put(b"hello").unwrap(), a);
        assert_eq!(store.get(&a).unwrap(), b"hello");
        std::fs::write(store.path_of(&a).unwrap(), b"tampered").unwrap();
        assert!(store.get(&a).unwrap_err().message.contains("corrupt"));
        assert!(store.get("sha256:../../etc/passwd").is_err());
    }
}
