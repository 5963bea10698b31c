//! Dynamic blocks' fan-out and reduce: a dynamic block's output table split into its items
//! (one row each), and the outputs of a block's runs, one per item, gathered back into one
//! table (Mage's `reduce_output`).

use super::blocks::{Output, VersionedDataset};
use crate::error::{Error, Result};
use std::sync::Arc;

/// How many items `output` fans out into: the rows of its table (both parts of a split one).
pub(super) fn count(output: &Output) -> usize {
    match output {
        Output::Dataset(d) => d.train.rows() + d.test.as_ref().map_or(0, |t| t.rows()),
        _ => 0,
    }
}

/// Fail when `output` has more items than `max` (a dynamic block's `max_fan_out`).
pub(super) fn check_count(output: &Output, max: usize) -> Result<()> {
    let items = count(output);
    if items > max {
        return Err(Error::invalid_field(
            "max_fan_out",
            format!(
                "the dynamic block gave {items} items (rows), more than its max_fan_out of {max}: \
                 every item is a block run of its own; return fewer rows or raise max_fan_out \
                 (at most {})",
                super::spec::MAX_FAN_OUT
            ),
        ));
    }
    Ok(())
}

/// Split a dynamic block's output into its items: one single-row table per row, in order (the
/// training rows first in a split table), each keeping the label and fitted steps.
pub(super) fn items(output: &Output) -> Vec<Output> {
    let Output::Dataset(data) = output else {
        // Validation makes a dynamic block give a table.
        return Vec::new();
    };
    let parts = std::iter::once(&data.train).chain(data.test.as_ref());
    parts
        .flat_map(|table| (0..table.rows()).map(move |row| table.select_rows(&[row])))
        .map(|row| {
            Output::Dataset(Arc::new(VersionedDataset {
                train: row,
                test: None,
                label: data.label.clone(),
                steps: data.steps.clone(),
                inputs: data.inputs.clone(),
                record: None,
                reused: false,
                exported: None,
            }))
        })
        .collect()
}

/// Gather the outputs of a block's runs, in item order, into one: their tables concatenated
/// (an empty table, as a Python block returning None gives, adds nothing); nothing when no run
/// gave a table. `names` are the runs' names, for the error.
pub(super) fn reduce(outputs: &[(String, Output)]) -> Result<Output> {
    let mut gathered: Option<VersionedDataset> = None;
    for (name, output) in outputs {
        let data = match output {
            Output::Dataset(d) => d,
            Output::Empty => continue,
            _ => {
                return Err(Error::invalid_field(
                    "reduce_output",
                    format!(
                    "{name} gave no table (a model or a decision); a reduce concatenates tables"
                ),
                ))
            }
        };
        let table = match &data.test {
            Some(test) => data.train.stacked(test)?,
            None => data.train.clone(),
        };
        if table.columns().is_empty() {
            continue;
        }
        gathered = Some(match gathered {
            None => VersionedDataset::loaded(table, data.label.clone(), None, false),
            Some(mut so_far) => {
                so_far.train = so_far.train.stacked(&table).map_err(|e| {
                    Error::invalid_field(
                        "reduce_output",
                        format!("cannot concatenate the table of {name}: {}", e.message),
                    )
                })?;
                so_far
            }
        });
    }
    Ok(match gathered {
        Some(data) => Output::Dataset(Arc::new(data)),
        None => Output::Empty,
    })
}
