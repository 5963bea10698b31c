//! Tabular datasets and their fingerprints.
//!
//! A dataset's identity is the SHA-256 of its canonical form: columns in name order, rows sorted,
//! every value as IEEE-754 bits (one bit pattern for all NaNs). Building the same rows in another
//! order gives the same fingerprint, and since the dataset passed downstream is the canonical one,
//! the same fingerprint also means the same training input.

use crate::error::{Error, Result};
use ndarray::Array2;
use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"ironmage-dataset-v1\n";

/// Feature columns (f64, NaN for missing) and a binary or multi-class label.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Dataset {
    /// Feature names, in column order.
    pub feature_names: Vec<String>,
    /// Label column name.
    pub label_name: String,
    /// Rows × features; NaN marks a missing value.
    pub features: Array2<f64>,
    /// One class per row.
    pub labels: Vec<usize>,
}

impl Dataset {
    /// Check shapes and names.
    pub fn new(
        feature_names: Vec<String>,
        label_name: String,
        features: Array2<f64>,
        labels: Vec<usize>,
    ) -> Result<Dataset> {
        if features.ncols() != feature_names.len() {
            return Err(Error::invalid(format!(
                "{} feature names for {} columns",
                feature_names.len(),
                features.ncols()
            )));
        }
        if features.nrows() != labels.len() {
            return Err(Error::invalid(format!(
                "{} labels for {} rows",
                labels.len(),
                features.nrows()
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for name in feature_names.iter().chain(std::iter::once(&label_name)) {
            if !seen.insert(name.as_str()) {
                return Err(Error::invalid(format!("column {name:?} appears twice")));
            }
        }
        Ok(Dataset {
            feature_names,
            label_name,
            features,
            labels,
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    /// Share of rows labelled 1.
    pub fn label_rate(&self) -> f64 {
        if self.labels.is_empty() {
            return 0.0;
        }
        self.labels.iter().filter(|&&l| l == 1).count() as f64 / self.labels.len() as f64
    }

    /// The canonical form: columns sorted by name, rows sorted by their encoded bytes.
    pub fn canonical(&self) -> Dataset {
        let mut order: Vec<usize> = (0..self.feature_names.len()).collect();
        order.sort_by(|&a, &b| self.feature_names[a].cmp(&self.feature_names[b]));
        let mut rows: Vec<Vec<u8>> = (0..self.rows())
            .map(|r| encode_row(order.iter().map(|&c| self.features[[r, c]]), self.labels[r]))
            .collect();
        rows.sort_unstable();
        let names: Vec<String> = order
            .iter()
            .map(|&c| self.feature_names[c].clone())
            .collect();
        decode_rows(names, self.label_name.clone(), &rows)
    }

    /// The canonical serialisation (what the fingerprint hashes and the artifact store keeps).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let canonical = self.canonical();
        let mut out = MAGIC.to_vec();
        let header = serde_json::json!({"features": canonical.feature_names, "label": canonical.label_name, "rows": canonical.rows()});
        out.extend_from_slice(header.to_string().as_bytes());
        out.push(b'\n');
        for r in 0..canonical.rows() {
            out.extend(encode_row(
                canonical.features.row(r).iter().copied(),
                canonical.labels[r],
            ));
        }
        out
    }

    /// Read back [`Dataset::canonical_bytes`].
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Dataset> {
        let bad = |why: &str| Error::invalid(format!("not a canonical dataset: {why}"));
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| bad("wrong header"))?;
        let newline = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("no header line"))?;
        #[derive(serde::Deserialize)]
        struct Header {
            features: Vec<String>,
            label: String,
            rows: usize,
        }
        let header: Header =
            serde_json::from_slice(&rest[..newline]).map_err(|_| bad("bad header"))?;
        let body = &rest[newline + 1..];
        let width = (header.features.len() + 1) * 8;
        if body.len() != width * header.rows {
            return Err(bad("truncated body"));
        }
        let rows: Vec<Vec<u8>> = body.chunks(width).map(<[u8]>::to_vec).collect();
        Ok(decode_rows(header.features, header.label, &rows))
    }

    /// `sha256:<hex>` of the canonical serialisation.
    pub fn fingerprint(&self) -> String {
        format!(
            "sha256:{}",
            hex::encode(Sha256::digest(self.canonical_bytes()))
        )
    }

    /// Keep only the given rows, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> Dataset {
        Dataset {
            feature_names: self.feature_names.clone(),
            label_name: self.label_name.clone(),
            features: self.features.select(ndarray::Axis(0), rows),
            labels: rows.iter().map(|&r| self.labels[r]).collect(),
        }
    }

    /// Count of missing (NaN) values per feature.
    pub fn missing_counts(&self) -> Vec<usize> {
        self.features
            .columns()
            .into_iter()
            .map(|c| c.iter().filter(|v| v.is_nan()).count())
            .collect()
    }
}

fn canonical_bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else if value == 0.0 {
        0.0f64.to_bits()
    } else {
        value.to_bits()
    }
}

fn encode_row(values: impl Iterator<Item = f64>, label: usize) -> Vec<u8> {
    // Big-endian so that byte order sorts rows the same on every machine.
    let mut out = Vec::new();
    for v in values {
        out.extend_from_slice(&canonical_bits(v).to_be_bytes());
    }
    out.extend_from_slice(&(label as u64).to_be_bytes());
    out
}

fn decode_rows(feature_names: Vec<String>, label_name: String, rows: &[Vec<u8>]) -> Dataset {
    let width = feature_names.len();
    let mut features = Array2::zeros((rows.len(), width));
    let mut labels = Vec::with_capacity(rows.len());
    for (r, bytes) in rows.iter().enumerate() {
        let mut words = bytes
            .chunks_exact(8)
            .map(|w| u64::from_be_bytes(w.try_into().unwrap_or([0; 8])));
        for c in 0..width {
            features[[r, c]] = f64::from_bits(words.next().unwrap_or(0));
        }
        labels.push(words.next().unwrap_or(0) as usize);
    }
    Dataset {
        feature_names,
        label_name,
        features,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn sample() -> Dataset {
        Dataset::new(
            vec!["b".into(), "a".into()],
            "y".into(),
            array![[1.0, 2.0], [f64::NAN, -0.0], [3.0, 4.0]],
            vec![1, 0, 1],
        )
        .unwrap()
    }

    #[test]
    fn fingerprint_ignores_row_and_column_order() {
        let d = sample();
        let reordered = Dataset::new(
            vec!["a".into(), "b".into()],
            "y".into(),
            array![[4.0, 3.0], [0.0, f64::NAN], [2.0, 1.0]],
            vec![1, 0, 1],
        )
        .unwrap();
        assert_eq!(d.fingerprint(), reordered.fingerprint());
        assert_eq!(d.canonical_bytes(), reordered.canonical().canonical_bytes());
        let mut changed = sample();
        changed.features[[0, 0]] = 1.5;
        assert_ne!(d.fingerprint(), changed.fingerprint());
    }

    #[test]
    fn canonical_bytes_round_trip() {
        let d = sample().canonical();
        let back = Dataset::from_canonical_bytes(&d.canonical_bytes()).unwrap();
        assert_eq!(back.feature_names, d.feature_names);
        assert_eq!(back.labels, d.labels);
        assert_eq!(back.fingerprint(), d.fingerprint());
        assert!(Dataset::from_canonical_bytes(b"junk").is_err());
        let bytes = d.canonical_bytes();
        assert!(Dataset::from_canonical_bytes(&bytes[..bytes.len() - 3]).is_err());
    }

    #[test]
    fn shape_errors_are_reported() {
        assert!(Dataset::new(vec!["a".into()], "y".into(), array![[1.0, 2.0]], vec![0]).is_err());
        assert!(Dataset::new(vec!["a".into()], "a".into(), array![[1.0]], vec![0]).is_err());
    }
}
