//! Time stamps in the two shapes ironmage stores and shows.

use chrono::{DateTime, SecondsFormat, Utc};

/// Now, as RFC 3339 UTC text with milliseconds (`2026-11-23T18:00:00.123Z`); sorts as text.
pub fn now() -> String {
    format_time(Utc::now())
}

/// A time as RFC 3339 UTC text with milliseconds.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The time `age` ago, in the stored text form (for "older than" comparisons in SQL).
pub fn ago(age: std::time::Duration) -> String {
    let age = chrono::Duration::from_std(age).unwrap_or(chrono::TimeDelta::MAX);
    format_time(
        Utc::now()
            .checked_sub_signed(age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
    )
}

/// The `YYYYMMDD_HHMMSS` stamp used in data and model version ids.
pub fn version_stamp(time: DateTime<Utc>) -> String {
    time.format("%Y%m%d_%H%M%S").to_string()
}

/// `base`, or `base_2`, `base_3`, … : the n-th candidate for a unique id made from a time stamp.
pub fn nth_candidate(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}_{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stamps_have_the_documented_shapes() {
        let t = Utc.with_ymd_and_hms(2026, 2, 12, 16, 0, 0).unwrap();
        assert_eq!(version_stamp(t), "20260212_160000");
        assert_eq!(format_time(t), "2026-02-12T16:00:00.000Z");
        assert_eq!(nth_candidate("v_1", 1), "v_1");
        assert_eq!(nth_candidate("v_1", 3), "v_1_3");
        assert!(ago(std::time::Duration::from_secs(60)) < now());
        assert!(ago(std::time::Duration::MAX) < ago(std::time::Duration::from_secs(60)));
    }
}
