//! What a trigger is: its kind and settings, checked with errors that name the field.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// When a trigger fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriggerSpec {
    /// On a cron schedule (5 fields, or 6 with seconds), in a time zone.
    Cron {
        /// The cron expression, e.g. `0 2 * * SUN` (Sundays at 2 AM).
        cron: String,
        /// IANA time zone name, e.g. `Europe/Paris`; UTC when absent.
        #[serde(default = "utc", skip_serializing_if = "is_utc")]
        timezone: String,
    },
    /// Every so many seconds.
    Interval {
        /// Seconds between two runs (at least 1).
        every_secs: u64,
    },
    /// Only when called through the API (`POST /api/triggers/{id}/runs`) or the CLI.
    Api,
    /// When a file appears in a watched folder.
    File {
        /// The folder to watch (relative paths are from the project folder).
        path: String,
        /// File names to react to, with `*` and `?` wildcards; every file when absent.
        #[serde(default = "any_file")]
        pattern: String,
        /// Pipeline variable that receives the file's path, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        variable: Option<String>,
    },
}

fn utc() -> String {
    "UTC".into()
}
fn is_utc(tz: &String) -> bool {
    tz == "UTC"
}
fn any_file() -> String {
    "*".into()
}

/// A trigger as written in a `triggers.yaml`, a REST body or from CLI flags: the kind and the
/// settings of every kind side by side, so that a setting of another kind is named as such.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TriggerFields {
    /// The trigger's name, unique within its pipeline.
    pub name: String,
    /// `cron`, `interval`, `api` or `file`.
    pub kind: String,
    /// Cron: the expression.
    pub cron: Option<String>,
    /// Cron: the IANA time zone (UTC by default).
    pub timezone: Option<String>,
    /// Interval: seconds between runs.
    pub every_secs: Option<u64>,
    /// File: the folder to watch.
    pub path: Option<String>,
    /// File: file name pattern.
    pub pattern: Option<String>,
    /// File: the variable that receives the file's path.
    pub variable: Option<String>,
    /// Variables for the runs it starts.
    #[serde(default)]
    pub variables: serde_json::Map<String, serde_json::Value>,
    /// `skip` (default) or `once`.
    pub catch_up: Option<String>,
    /// Whether it fires (true by default).
    pub enabled: Option<bool>,
}

impl TriggerFields {
    /// The kind and its settings; a missing setting or one of another kind is an error naming it.
    pub fn spec(&self) -> Result<TriggerSpec> {
        let given: [(&str, bool); 6] = [
            ("cron", self.cron.is_some()),
            ("timezone", self.timezone.is_some()),
            ("every_secs", self.every_secs.is_some()),
            ("path", self.path.is_some()),
            ("pattern", self.pattern.is_some()),
            ("variable", self.variable.is_some()),
        ];
        let (spec, allowed): (TriggerSpec, &[&str]) = match self.kind.as_str() {
            "cron" => (
                TriggerSpec::Cron {
                    cron: required(&self.cron, "cron", "cron")?,
                    timezone: self.timezone.clone().unwrap_or_else(utc),
                },
                &["cron", "timezone"],
            ),
            "interval" => (
                TriggerSpec::Interval {
                    every_secs: self.every_secs.ok_or_else(|| {
                        Error::invalid_field("every_secs", "an interval trigger needs every_secs")
                    })?,
                },
                &["every_secs"],
            ),
            "api" => (TriggerSpec::Api, &[]),
            "file" => (
                TriggerSpec::File {
                    path: required(&self.path, "path", "file")?,
                    pattern: self.pattern.clone().unwrap_or_else(any_file),
                    variable: self.variable.clone(),
                },
                &["path", "pattern", "variable"],
            ),
            other => {
                return Err(Error::invalid_field(
                    "kind",
                    format!("{other:?} is not a trigger kind (cron, interval, api, file)"),
                ))
            }
        };
        if let Some((field, _)) = given.iter().find(|(f, set)| *set && !allowed.contains(f)) {
            return Err(Error::invalid_field(
                *field,
                format!("is not a setting of a {} trigger", self.kind),
            ));
        }
        spec.validate()?;
        Ok(spec)
    }
}

fn required(value: &Option<String>, field: &str, kind: &str) -> Result<String> {
    value
        .clone()
        .ok_or_else(|| Error::invalid_field(field, format!("a {kind} trigger needs {field}")))
}

/// What to do with fire times missed while no scheduler ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Forget them; fire at the next time due.
    #[default]
    Skip,
    /// Run once for all of them, then go on as scheduled.
    Once,
}

impl CatchUp {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            CatchUp::Skip => "skip",
            CatchUp::Once => "once",
        }
    }

    /// Parse the stored or given text.
    pub fn parse(text: &str) -> Result<CatchUp> {
        match text {
            "skip" => Ok(CatchUp::Skip),
            "once" => Ok(CatchUp::Once),
            other => Err(Error::invalid_field(
                "catch_up",
                format!("{other:?} is not a catch-up policy (skip or once)"),
            )),
        }
    }
}

impl TriggerSpec {
    /// The kind as stored and shown.
    pub fn kind(&self) -> &'static str {
        match self {
            TriggerSpec::Cron { .. } => "cron",
            TriggerSpec::Interval { .. } => "interval",
            TriggerSpec::Api => "api",
            TriggerSpec::File { .. } => "file",
        }
    }

    /// Check the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        match self {
            TriggerSpec::Cron { cron, timezone } => {
                parse_cron(cron)?;
                parse_timezone(timezone)?;
            }
            TriggerSpec::Interval { every_secs } => {
                if *every_secs == 0 || *every_secs > 366 * 86400 {
                    return Err(Error::invalid_field(
                        "every_secs",
                        "must be 1 to 31622400 (a year)",
                    ));
                }
            }
            TriggerSpec::Api => {}
            TriggerSpec::File { path, pattern, .. } => {
                if path.trim().is_empty() {
                    return Err(Error::invalid_field("path", "must name a folder"));
                }
                if pattern.is_empty() || pattern.contains('/') {
                    return Err(Error::invalid_field(
                        "pattern",
                        "must be a file name pattern (`*.csv`), without `/`",
                    ));
                }
            }
        }
        Ok(())
    }

    /// When to fire after the fire time `due` was handled at `now`: the next cron time after
    /// `now`; for an interval, `due` plus the interval (keeping the cadence), or `now` plus it
    /// when that is already past.
    pub fn following(
        &self,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        match self {
            TriggerSpec::Interval { .. } => {
                let next = self.next_fire_after(due)?;
                match next {
                    Some(next) if next > now => Ok(Some(next)),
                    _ => self.next_fire_after(now),
                }
            }
            _ => self.next_fire_after(now),
        }
    }

    /// The first fire time strictly after `after`, for the kinds that fire on time.
    pub fn next_fire_after(&self, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        match self {
            TriggerSpec::Cron { cron, timezone } => {
                let zone = parse_timezone(timezone)?;
                let next = parse_cron(cron)?
                    .find_next_occurrence(&after.with_timezone(&zone), false)
                    .map_err(|e| Error::invalid_field("cron", format!("no next fire time: {e}")))?;
                Ok(Some(next.with_timezone(&Utc)))
            }
            TriggerSpec::Interval { every_secs } => {
                Ok(Some(after + chrono::Duration::seconds(*every_secs as i64)))
            }
            TriggerSpec::Api | TriggerSpec::File { .. } => Ok(None),
        }
    }
}

fn parse_cron(text: &str) -> Result<croner::Cron> {
    croner::Cron::from_str(text).map_err(|e| {
        Error::invalid_field(
            "cron",
            format!("{text:?} is not a cron expression ({e}); e.g. \"0 2 * * SUN\""),
        )
    })
}

fn parse_timezone(text: &str) -> Result<chrono_tz::Tz> {
    text.parse().map_err(|_| {
        Error::invalid_field(
            "timezone",
            format!("{text:?} is not an IANA time zone (e.g. UTC, Europe/Paris)"),
        )
    })
}

/// Whether a file name matches a pattern with `*` (any run) and `?` (any one character).
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Classic wildcard matching with one backtrack point for the last `*`.
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn cron_fires_in_its_time_zone() {
        let sunday_2am_paris = TriggerSpec::Cron {
            cron: "0 2 * * SUN".into(),
            timezone: "Europe/Paris".into(),
        };
        // Friday 20 November 2026; Paris is UTC+1 in winter.
        let next = sunday_2am_paris
            .next_fire_after(at("2026-11-20T12:00:00Z"))
            .unwrap();
        assert_eq!(next, Some(at("2026-11-22T01:00:00Z")));
        // Strictly after: at the fire time itself, the next one is a week later.
        let after = sunday_2am_paris
            .next_fire_after(at("2026-11-22T01:00:00Z"))
            .unwrap();
        assert_eq!(after, Some(at("2026-11-29T01:00:00Z")));
        // Summer time: UTC+2.
        let summer = sunday_2am_paris
            .next_fire_after(at("2026-07-01T00:00:00Z"))
            .unwrap();
        assert_eq!(
            summer,
            Some(Utc.with_ymd_and_hms(2026, 7, 5, 0, 0, 0).unwrap())
        );
    }

    #[test]
    fn interval_adds_its_seconds() {
        let every = TriggerSpec::Interval { every_secs: 90 };
        let next = every.next_fire_after(at("2026-11-20T12:00:00Z")).unwrap();
        assert_eq!(next, Some(at("2026-11-20T12:01:30Z")));
        assert_eq!(
            TriggerSpec::Api
                .next_fire_after(at("2026-11-20T12:00:00Z"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn bad_settings_name_their_field() {
        let cases = [
            (
                TriggerSpec::Cron {
                    cron: "0 2 * *".into(),
                    timezone: "UTC".into(),
                },
                "cron",
            ),
            (
                TriggerSpec::Cron {
                    cron: "61 * * * *".into(),
                    timezone: "UTC".into(),
                },
                "cron",
            ),
            (
                TriggerSpec::Cron {
                    cron: "0 2 * * SUN".into(),
                    timezone: "Mars/Olympus".into(),
                },
                "timezone",
            ),
            (TriggerSpec::Interval { every_secs: 0 }, "every_secs"),
            (
                TriggerSpec::File {
                    path: " ".into(),
                    pattern: "*".into(),
                    variable: None,
                },
                "path",
            ),
            (
                TriggerSpec::File {
                    path: "in".into(),
                    pattern: "a/*.csv".into(),
                    variable: None,
                },
                "pattern",
            ),
        ];
        for (spec, field) in cases {
            let err = spec.validate().unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{spec:?}: {err}");
        }
        assert_eq!(
            CatchUp::parse("sometimes").unwrap_err().field.as_deref(),
            Some("catch_up")
        );
    }

    #[test]
    fn fields_give_a_spec_or_name_the_field_at_fault() {
        let fields = |kind: &str| TriggerFields {
            name: "t".into(),
            kind: kind.into(),
            ..Default::default()
        };
        let cron = TriggerFields {
            cron: Some("*/5 * * * *".into()),
            ..fields("cron")
        };
        assert_eq!(
            cron.spec().unwrap(),
            TriggerSpec::Cron {
                cron: "*/5 * * * *".into(),
                timezone: "UTC".into()
            }
        );
        let field_of = |f: TriggerFields| f.spec().unwrap_err().field;
        assert_eq!(field_of(fields("cron")).as_deref(), Some("cron"));
        assert_eq!(field_of(fields("interval")).as_deref(), Some("every_secs"));
        assert_eq!(field_of(fields("file")).as_deref(), Some("path"));
        assert_eq!(field_of(fields("hourly")).as_deref(), Some("kind"));
        let mixed = TriggerFields {
            every_secs: Some(5),
            ..cron.clone()
        };
        assert_eq!(field_of(mixed).as_deref(), Some("every_secs"));
        assert_eq!(fields("api").spec().unwrap(), TriggerSpec::Api);
    }

    #[test]
    fn intervals_keep_their_cadence_unless_far_behind() {
        let every = TriggerSpec::Interval { every_secs: 60 };
        let due = at("2026-11-20T12:00:00Z");
        assert_eq!(
            every.following(due, at("2026-11-20T12:00:04Z")).unwrap(),
            Some(at("2026-11-20T12:01:00Z"))
        );
        assert_eq!(
            every.following(due, at("2026-11-20T13:00:30Z")).unwrap(),
            Some(at("2026-11-20T13:01:30Z"))
        );
    }

    #[test]
    fn wildcards_match_file_names() {
        assert!(matches_pattern("*", "anything.csv"));
        assert!(matches_pattern("*.csv", "data.csv"));
        assert!(!matches_pattern("*.csv", "data.csv.tmp"));
        assert!(matches_pattern("sales_??.csv", "sales_01.csv"));
        assert!(!matches_pattern("sales_??.csv", "sales_1.csv"));
        assert!(matches_pattern("a*b*c", "axxbyyc"));
        assert!(!matches_pattern("a*b*c", "axxbyy"));
    }
}
