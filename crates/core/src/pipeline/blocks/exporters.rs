//! Exporters: blocks that write their upstream table somewhere outside ironmage (a database
//! table, a file, an object store) and pass it on unchanged, with a record of what they wrote
//! ([`Exported`]) in their preview. A split table is written whole, training rows first.

use super::data::{Exported, VersionedDataset};
use super::output::{single_input, Output};
use crate::error::{Error, Result};
use crate::pipeline::context::BlockContext;
use crate::table::Table;
use std::sync::Arc;
use std::time::Instant;

/// The table a block exports: both parts of a split one, training rows first.
fn whole(data: &VersionedDataset) -> Result<Table> {
    match &data.test {
        Some(test) => data.train.stacked(test),
        None => Ok(data.train.clone()),
    }
}

/// The upstream data passed on, with what the block wrote, logged.
fn passed_on(
    ctx: &BlockContext,
    data: Arc<VersionedDataset>,
    exported: Exported,
    started: Instant,
) -> Output {
    // Stored with the run: no secret value may stay in it.
    let exported = Exported {
        destination: ctx.services.secrets.mask(&exported.destination),
        ..exported
    };
    ctx.log(format!(
        "✅ Exported {} rows to {} ({}) in {:.2} s",
        exported.rows,
        exported.destination,
        exported.how,
        started.elapsed().as_secs_f64()
    ));
    let mut next = Arc::unwrap_or_clone(data);
    next.exported = Some(exported);
    Output::Dataset(Arc::new(next))
}

/// `sql_export`: the table into a PostgreSQL (or SQLite) table, replacing it or appended to
/// it, in one transaction ([`crate::table::export`]).
pub(super) mod sql_export {
    use super::*;
    use crate::store::redact;
    use crate::table::export::{write_sql, SqlTarget, WriteMode};
    use serde::Deserialize;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Database URL (`postgres://…`, `sqlite:…`), normally a `${secret.name}` reference.
        pub url: String,
        /// The target table, `name` or `schema.name`.
        pub table: String,
        /// `replace` (default) or `append`.
        #[serde(default)]
        pub mode: WriteMode,
    }

    /// Whether `url` names a database the exporter writes to.
    fn check_url(url: &str) -> Result<()> {
        if url.trim().is_empty() {
            return Err(Error::invalid_field(
                "url",
                "must not be empty: name the database (normally ${secret.name})",
            ));
        }
        let known = ["postgres://", "postgresql://", "sqlite:"];
        if !known.iter().any(|p| url.starts_with(p)) {
            return Err(Error::invalid_field(
                "url",
                "expected a postgres:// or sqlite: URL",
            ));
        }
        Ok(())
    }

    impl Config {
        pub(in super::super) fn validate(&self) -> Result<()> {
            // A URL holding a secret is checked when the block runs, once the secret is in.
            if !self.url.contains("${secret.") {
                check_url(&self.url)?;
            }
            SqlTarget::parse(&self.table).map_err(|m| Error::invalid_field("table", m))?;
            Ok(())
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let data = single_input!(inputs, Dataset);
        check_url(&config.url).map_err(|e| e.with_field("config.url"))?;
        let target =
            SqlTarget::parse(&config.table).map_err(|m| Error::invalid_field("config.table", m))?;
        let table = whole(&data)?;
        let started = Instant::now();
        let rows = write_sql(&config.url, &target, &table, config.mode)
            .await
            .map_err(|e| match e.field.clone() {
                Some(field) => e.with_field(format!("config.{field}")),
                None => e,
            })?;
        // The database without its password or query options, then the table.
        let database = redact(&config.url);
        let database = database.split('?').next().unwrap_or_default();
        let exported = Exported {
            destination: format!("{database} table {target}"),
            rows,
            how: config.mode.as_str().to_string(),
        };
        Ok(passed_on(ctx, data, exported, started))
    }
}

/// `file_export`: the table as a CSV or Arrow IPC (Feather v2) file, in the project folder, at
/// an absolute path, or in an S3-compatible object store (`s3://bucket/key`,
/// [`crate::object_store`]). A local file is written beside its target and renamed over it,
/// so readers never see half a file and a failed export leaves the old one.
pub(super) mod file_export {
    use super::*;
    use crate::object_store::{ObjectStore, ObjectStoreConfig, S3Location};
    use crate::table::{write_arrow, write_csv};
    use serde::Deserialize;
    use std::path::Path;

    /// The block's config.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Relative to the project folder, absolute, or `s3://bucket/key`.
        pub path: String,
        /// `csv` or `arrow` (alias `feather`); default: from the path's extension.
        #[serde(default)]
        pub format: Option<String>,
    }

    /// How the file is written.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Format {
        Csv,
        /// Arrow IPC file (Feather v2): `pandas.read_feather`, `pyarrow.feather.read_table`.
        Arrow,
    }

    impl Format {
        fn as_str(self) -> &'static str {
            match self {
                Format::Csv => "csv",
                Format::Arrow => "arrow",
            }
        }

        fn content_type(self) -> &'static str {
            match self {
                Format::Csv => "text/csv",
                Format::Arrow => "application/vnd.apache.arrow.file",
            }
        }
    }

    /// Why Parquet is not one of the formats, for the error that meets a `.parquet` path.
    const NO_PARQUET: &str = "Parquet is not built in (the parquet crate would add about 85 s to \
        every clean build): write Arrow IPC instead (format arrow, a .arrow or .feather file), \
        which pandas.read_feather and pyarrow read with types and nulls";

    impl Config {
        /// The format named, or the one the extension implies.
        fn format(&self) -> Result<Format> {
            if let Some(format) = &self.format {
                return match format.as_str() {
                    "csv" => Ok(Format::Csv),
                    "arrow" | "feather" => Ok(Format::Arrow),
                    "parquet" => Err(Error::invalid_field("format", NO_PARQUET)),
                    other => Err(Error::invalid_field(
                        "format",
                        format!("unknown format {other:?} (known: csv, arrow, feather)"),
                    )),
                };
            }
            let extension = Path::new(&self.path)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default()
                .to_ascii_lowercase();
            match extension.as_str() {
                "csv" => Ok(Format::Csv),
                "arrow" | "feather" | "ipc" => Ok(Format::Arrow),
                "parquet" => Err(Error::invalid_field("path", NO_PARQUET)),
                _ => Err(Error::invalid_field(
                    "format",
                    format!(
                        "cannot tell the format of {:?} from its extension: set format (csv or arrow)",
                        self.path
                    ),
                )),
            }
        }

        pub(in super::super) fn validate(&self) -> Result<()> {
            if self.path.trim().is_empty() {
                return Err(Error::invalid_field("path", "must not be empty"));
            }
            if let Some(location) = S3Location::parse(&self.path) {
                location.map_err(|e| e.with_field("path"))?;
            }
            self.format().map(drop)
        }
    }

    pub(in super::super) async fn run(
        ctx: &BlockContext,
        config: Config,
        inputs: Vec<Output>,
    ) -> Result<Output> {
        let data = single_input!(inputs, Dataset);
        let format = config.format().map_err(|e| match e.field.clone() {
            Some(field) => e.with_field(format!("config.{field}")),
            None => e,
        })?;
        let table = whole(&data)?;
        let rows = table.rows() as u64;
        let started = Instant::now();
        let bytes = ctx
            .blocking(move || {
                Ok(match format {
                    Format::Csv => write_csv(&table).into_bytes(),
                    Format::Arrow => {
                        let mut bytes = Vec::new();
                        write_arrow(&table, &mut bytes)?;
                        bytes
                    }
                })
            })
            .await?;
        let size = bytes.len();
        match S3Location::parse(&config.path) {
            Some(location) => {
                let location = location.map_err(|e| e.with_field("config.path"))?;
                let store = ObjectStore::new(ObjectStoreConfig::from_env(&ctx.services.secrets)?)?;
                store
                    .put_object(
                        &location.bucket,
                        &location.key,
                        bytes,
                        format.content_type(),
                    )
                    .await?;
            }
            None => {
                let path = ctx.services.project_root.join(&config.path);
                ctx.blocking(move || write_replacing(&path, &bytes))
                    .await
                    .map_err(|e| e.with_field("config.path"))?;
            }
        }
        let exported = Exported {
            destination: config.path.clone(),
            rows,
            how: format!("{}, {size} bytes", format.as_str()),
        };
        Ok(passed_on(ctx, data, exported, started))
    }

    /// Write `bytes` to a new file beside `path` and rename it over `path`: the old file, if
    /// any, stays whole until the new one is.
    fn write_replacing(path: &Path, bytes: &[u8]) -> Result<()> {
        let fail =
            |e: std::io::Error| Error::invalid(format!("cannot write {}: {e}", path.display()));
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(Error::invalid(format!(
                "{} is not a file path",
                path.display()
            )));
        };
        std::fs::create_dir_all(folder).map_err(fail)?;
        let temporary = folder.join(format!(
            ".{}.{}.tmp",
            name.to_string_lossy(),
            uuid::Uuid::new_v4().simple()
        ));
        let written =
            std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(fail)
    }
}
