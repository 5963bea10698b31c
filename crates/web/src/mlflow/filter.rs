//! Name and tag filters of MLflow's searches (`name = 'x'`, `name LIKE 'x%'`, `tag.k = 'v'`).

use ironmage_core::store::{Clause, Entity, KeyValue, Literal};
use ironmage_core::Error;

/// Whether a name-and-tags record matches one filter clause (`name = 'x'`, `name LIKE 'x%'`,
/// `tag.k = 'v'`, `tag.k != 'v'`, which a record without the tag matches).
pub(super) fn matches_name(c: &Clause, name: &str, tags: &[KeyValue]) -> Result<bool, Error> {
    let Literal::Text(want) = &c.value else {
        return Err(Error::invalid_field(
            "filter",
            "compare names and tags with quoted strings",
        ));
    };
    let have = match &c.entity {
        Entity::Attribute(a) if a == "name" => Some(name.to_string()),
        Entity::Tag(k) => tags.iter().find(|t| &t.key == k).map(|t| t.value.clone()),
        other => {
            return Err(Error::invalid_field(
                "filter",
                format!("unsupported filter on {other:?}: use name or tag.<key>"),
            ))
        }
    };
    Ok(match (c.op.as_str(), have) {
        ("=", Some(h)) => &h == want,
        ("!=", h) => h.as_deref() != Some(want.as_str()),
        ("LIKE", Some(h)) => like(&h, want, false),
        ("ILIKE", Some(h)) => like(&h, want, true),
        ("=" | "LIKE" | "ILIKE", None) => false,
        (op, _) => {
            return Err(Error::invalid_field(
                "filter",
                format!("unsupported comparator {op:?} for names and tags"),
            ))
        }
    })
}

/// SQL LIKE: `%` any run, `_` any one character.
fn like(text: &str, pattern: &str, ci: bool) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = if ci {
        (
            text.to_lowercase().chars().collect(),
            pattern.to_lowercase().chars().collect(),
        )
    } else {
        (text.chars().collect(), pattern.chars().collect())
    };
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('_') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some(c) => t.first() == Some(c) && go(&t[1..], &p[1..]),
        }
    }
    go(&t, &p)
}
