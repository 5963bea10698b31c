//! The artifact codec of every tree model: 8 magic bytes naming the model kind,
//! the format version as a little-endian `u32`, then the model in bincode
//! (varint integers, little endian). Equal models give equal bytes. Decoding
//! goes through each model's serde `try_from`, which validates the structure,
//! so a corrupt artifact is an error at load time rather than a panic (or an
//! endless loop) at predict time.

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{MlError, Result};

/// Length of the header: magic bytes and version.
const HEADER: usize = 12;

/// Writes `magic`, a little-endian `version` and the bincode body.
pub(crate) fn encode<T: Serialize>(magic: &[u8; 8], version: u32, v: &T) -> Result<Vec<u8>> {
    let body = bincode::DefaultOptions::new()
        .serialize(v)
        .map_err(|e| MlError::Serialization(e.to_string()))?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads what [`encode`] wrote, checking magic and version; trailing bytes are
/// an error.
pub(crate) fn decode<T: DeserializeOwned>(
    magic: &[u8; 8],
    version: u32,
    bytes: &[u8],
) -> Result<T> {
    let corrupt = |m: String| MlError::CorruptArtifact(m);
    if bytes.len() < HEADER {
        return Err(corrupt(format!(
            "{} bytes is shorter than the header",
            bytes.len()
        )));
    }
    if bytes[..8] != magic[..] {
        return Err(corrupt("bad magic bytes for this model kind".into()));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&bytes[8..HEADER]);
    let found = u32::from_le_bytes(v);
    if found != version {
        return Err(MlError::UnsupportedVersion {
            found,
            expected: version,
        });
    }
    let body = &bytes[HEADER..];
    bincode::DefaultOptions::new()
        .with_limit(body.len() as u64)
        .deserialize(body)
        .map_err(|e| corrupt(e.to_string()))
}

/// [`decode`] of the current `version`, or of a version 1 artifact read as `V1`
/// and brought forward by `upgrade` (the type's `try_from` then validates it).
pub(crate) fn decode_or_v1<T, D, V1>(
    magic: &[u8; 8],
    version: u32,
    bytes: &[u8],
    upgrade: impl FnOnce(V1) -> D,
) -> Result<T>
where
    T: DeserializeOwned + TryFrom<D, Error = String>,
    V1: DeserializeOwned,
{
    match decode(magic, version, bytes) {
        Err(MlError::UnsupportedVersion { found: 1, .. }) => {
            let old: V1 = decode(magic, 1, bytes)?;
            T::try_from(upgrade(old)).map_err(MlError::CorruptArtifact)
        }
        other => other,
    }
}
