//! Tables as Apache Arrow IPC files: how data crosses to and from Python blocks (pyarrow reads
//! and writes the same format, and pandas converts it without a per-value parse).
//!
//! A numeric column is `Float64` (a missing value, NaN here, is an Arrow null, so pandas sees
//! NaN either way), a text column `Utf8` with nulls for missing values. Read back, every integer,
//! float and boolean type is numeric (true is 1), every string type is text, and a column of
//! the `Null` type (all values missing, type unknown) is numeric; any other type is an error
//! naming the column.

use super::{Column, Table, Values};
use crate::error::{Error, Result};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, RecordBatchOptions, StringArray};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema};
use std::io::{Read, Seek, Write};
use std::sync::Arc;

/// Write the table as an Arrow IPC file (one record batch).
pub fn write_arrow<W: Write>(table: &Table, out: W) -> Result<()> {
    let fields: Vec<Field> = table
        .columns()
        .iter()
        .map(|c| match c.values {
            Values::Number(_) => Field::new(&c.name, DataType::Float64, true),
            Values::Text(_) => Field::new(&c.name, DataType::Utf8, true),
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays: Vec<ArrayRef> = table
        .columns()
        .iter()
        .map(|c| -> ArrayRef {
            match &c.values {
                Values::Number(v) => Arc::new(
                    v.iter()
                        .map(|x| (!x.is_nan()).then_some(*x))
                        .collect::<Float64Array>(),
                ),
                Values::Text(v) => {
                    Arc::new(v.iter().map(Option::as_deref).collect::<StringArray>())
                }
            }
        })
        .collect();
    let options = RecordBatchOptions::new().with_row_count(Some(table.rows()));
    let batch =
        RecordBatch::try_new_with_options(schema.clone(), arrays, &options).map_err(arrow_error)?;
    let mut writer = FileWriter::try_new(out, &schema).map_err(arrow_error)?;
    writer.write(&batch).map_err(arrow_error)?;
    writer.finish().map_err(arrow_error)
}

/// Read an Arrow IPC file into a table; `what` names the file in errors.
pub fn read_arrow<R: Read + Seek>(input: R, what: &str) -> Result<Table> {
    let reader = FileReader::try_new(input, None)
        .map_err(|e| Error::invalid(format!("{what}: not an Arrow IPC file: {e}")))?;
    let schema = reader.schema();
    let mut columns: Vec<Column> = schema
        .fields()
        .iter()
        .map(|f| {
            let values = match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Values::Text(vec![]),
                _ => Values::Number(vec![]),
            };
            Column {
                name: f.name().clone(),
                values,
            }
        })
        .collect();
    for batch in reader {
        let batch = batch.map_err(|e| Error::invalid(format!("{what}: {e}")))?;
        for (column, array) in columns.iter_mut().zip(batch.columns()) {
            append(column, array.as_ref()).map_err(|message| {
                Error::invalid(format!("{what}: column {:?} {message}", column.name))
            })?;
        }
    }
    Table::new(columns).map_err(|e| Error::invalid(format!("{what}: {}", e.message)))
}

/// Add one batch's values of a column.
fn append(column: &mut Column, array: &dyn Array) -> std::result::Result<(), String> {
    macro_rules! numbers {
        ($out:expr, $t:ty) => {
            $out.extend(
                array
                    .as_primitive::<$t>()
                    .iter()
                    .map(|v| v.map_or(f64::NAN, |x| x as f64)),
            )
        };
    }
    match &mut column.values {
        Values::Number(out) => match array.data_type() {
            DataType::Float64 => numbers!(out, Float64Type),
            DataType::Float32 => numbers!(out, Float32Type),
            DataType::Int8 => numbers!(out, Int8Type),
            DataType::Int16 => numbers!(out, Int16Type),
            DataType::Int32 => numbers!(out, Int32Type),
            DataType::Int64 => numbers!(out, Int64Type),
            DataType::UInt8 => numbers!(out, UInt8Type),
            DataType::UInt16 => numbers!(out, UInt16Type),
            DataType::UInt32 => numbers!(out, UInt32Type),
            DataType::UInt64 => numbers!(out, UInt64Type),
            DataType::Boolean => out.extend(
                array
                    .as_boolean()
                    .iter()
                    .map(|v| v.map_or(f64::NAN, |b| if b { 1.0 } else { 0.0 })),
            ),
            DataType::Null => out.extend(std::iter::repeat_n(f64::NAN, array.len())),
            other => {
                return Err(format!(
                    "has Arrow type {other}: a block output holds numbers (integers, floats, booleans) and text"
                ))
            }
        },
        Values::Text(out) => match array.data_type() {
            DataType::Utf8 => out.extend(array.as_string::<i32>().iter().map(|v| v.map(str::to_string))),
            DataType::LargeUtf8 => {
                out.extend(array.as_string::<i64>().iter().map(|v| v.map(str::to_string)))
            }
            DataType::Utf8View => {
                out.extend(array.as_string_view().iter().map(|v| v.map(str::to_string)))
            }
            other => return Err(format!("changes type between batches (now {other})")),
        },
    }
    Ok(())
}

fn arrow_error(e: ArrowError) -> Error {
    Error::internal(format!("cannot write an Arrow table: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{
        BooleanArray, Int32Array, Int64Array, LargeStringArray, NullArray, UInt8Array,
    };
    use std::io::Cursor;

    fn round_trip(table: &Table) -> Table {
        let mut bytes = Vec::new();
        write_arrow(table, &mut bytes).unwrap();
        read_arrow(Cursor::new(bytes), "test").unwrap()
    }

    #[test]
    fn every_column_type_survives_with_its_nulls() {
        let table = Table::new(vec![
            Column::number("amount", vec![1.5, f64::NAN, -0.25, 1e300]),
            Column::text(
                "city",
                vec![
                    Some("Wilmslow, UK".into()),
                    None,
                    Some(String::new()),
                    Some("Zürich".into()),
                ],
            ),
            Column::number("all missing", vec![f64::NAN; 4]),
            Column::text("no text", vec![None; 4]),
        ])
        .unwrap();
        let back = round_trip(&table);
        assert_eq!(back.names(), table.names(), "names and order");
        for (a, b) in table.columns().iter().zip(back.columns()) {
            assert_eq!(a.values.type_name(), b.values.type_name(), "{}", a.name);
            assert_eq!(a.values.missing(), b.values.missing(), "{}", a.name);
        }
        assert_eq!(
            back.fingerprint(),
            table.fingerprint(),
            "values, bit for bit"
        );
        let empty =
            Table::new(vec![Column::number("x", vec![]), Column::text("t", vec![])]).unwrap();
        assert_eq!(round_trip(&empty), empty);
        assert_eq!(round_trip(&Table::default()).rows(), 0);
    }

    #[test]
    fn python_types_become_numbers_or_text() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i64", DataType::Int64, true),
            Field::new("i32", DataType::Int32, true),
            Field::new("u8", DataType::UInt8, true),
            Field::new("flag", DataType::Boolean, true),
            Field::new("large", DataType::LargeUtf8, true),
            Field::new("nothing", DataType::Null, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(7), None])),
                Arc::new(Int32Array::from(vec![None, Some(-3)])),
                Arc::new(UInt8Array::from(vec![Some(255), None])),
                Arc::new(BooleanArray::from(vec![Some(true), None])),
                Arc::new(LargeStringArray::from(vec![None, Some("b")])),
                Arc::new(NullArray::new(2)),
            ],
        )
        .unwrap();
        let mut bytes = Vec::new();
        let mut writer = FileWriter::try_new(&mut bytes, &schema).unwrap();
        writer.write(&batch).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        drop(writer);
        let table = read_arrow(Cursor::new(bytes), "out.arrow").unwrap();
        assert_eq!(table.rows(), 4, "every batch is read");
        let numbers = |name: &str| table.column(name).unwrap().numbers().unwrap().to_vec();
        let same = |a: Vec<f64>, b: [f64; 4]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| x == &y || (x.is_nan() && y.is_nan()))
        };
        assert!(same(numbers("i64"), [7.0, f64::NAN, 7.0, f64::NAN]));
        assert!(same(numbers("i32"), [f64::NAN, -3.0, f64::NAN, -3.0]));
        assert!(same(numbers("u8"), [255.0, f64::NAN, 255.0, f64::NAN]));
        assert!(same(numbers("flag"), [1.0, f64::NAN, 1.0, f64::NAN]));
        assert!(same(numbers("nothing"), [f64::NAN; 4]));
        assert_eq!(
            table.column("large").unwrap().values,
            Values::Text(vec![None, Some("b".into()), None, Some("b".into())])
        );
    }

    #[test]
    fn other_types_and_garbage_are_errors_naming_the_column_or_file() {
        let schema = Arc::new(Schema::new(vec![Field::new("raw", DataType::Binary, true)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(arrow_array::BinaryArray::from(vec![Some(
                &b"x"[..],
            )]))],
        )
        .unwrap();
        let mut bytes = Vec::new();
        let mut writer = FileWriter::try_new(&mut bytes, &schema).unwrap();
        writer.write(&batch).unwrap();
        writer.finish().unwrap();
        drop(writer);
        let err = read_arrow(Cursor::new(bytes), "out.arrow").unwrap_err();
        assert!(
            err.message.contains("column \"raw\"") && err.message.contains("Binary"),
            "{}",
            err.message
        );
        let err = read_arrow(Cursor::new(b"not arrow".to_vec()), "out.arrow").unwrap_err();
        assert!(
            err.message.contains("out.arrow: not an Arrow IPC file"),
            "{}",
            err.message
        );
    }
}
