//! Searching tracking runs with MLflow's filter syntax (a subset):
//! `metrics.auc > 0.8 and params.depth = '5' and tags.team = 'growth' and status = 'FINISHED'`,
//! ordered by `metrics.auc DESC`, `attributes.start_time`, `params.x ASC`…
//!
//! The filter is parsed into clauses, and each clause becomes one SQL condition with bound
//! values, so user text never reaches the SQL.

use super::experiments::ViewType;
use super::tracking::{run_info_from_row, TrackingRun};
use super::TrackingStore;
use crate::error::{Error, Result};

/// What a clause compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    /// `metrics.<key>`: the latest value.
    Metric(String),
    /// `params.<key>`.
    Param(String),
    /// `tags.<key>`.
    Tag(String),
    /// `attributes.<name>` or a bare attribute name.
    Attribute(String),
}

/// A literal in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    Text(String),
    /// A number.
    Number(f64),
}

/// One `entity op value` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Left side.
    pub entity: Entity,
    /// `=`, `!=`, `>`, `>=`, `<`, `<=`, `LIKE`, `ILIKE`.
    pub op: String,
    /// Right side.
    pub value: Literal,
}

/// Parse a filter: clauses joined by `and` (any case). Empty text means no clauses.
pub fn parse_filter(filter: &str) -> Result<Vec<Clause>> {
    let tokens = tokenize(filter)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if !clauses.is_empty() {
            match &tokens[i] {
                Token::Word(w) if w.eq_ignore_ascii_case("and") => i += 1,
                other => return Err(bad(filter, format!("expected AND, found {other:?}"))),
            }
        }
        let (Some(Token::Word(left)), Some(Token::Op(op)), Some(right)) =
            (tokens.get(i), tokens.get(i + 1), tokens.get(i + 2))
        else {
            return Err(bad(
                filter,
                "expected `<entity> <comparator> <value>`".into(),
            ));
        };
        let entity = entity_of(left).map_err(|m| bad(filter, m))?;
        let value = match right {
            Token::Text(t) => Literal::Text(t.clone()),
            Token::Word(w) => Literal::Number(w.parse().map_err(|_| {
                bad(
                    filter,
                    format!("{w:?} is neither a number nor a quoted string"),
                )
            })?),
            Token::Op(o) => return Err(bad(filter, format!("unexpected {o:?}"))),
        };
        if matches!(entity, Entity::Metric(_)) != matches!(value, Literal::Number(_)) {
            return Err(bad(
                filter,
                format!(
                    "{left} must be compared with a number for metrics, a quoted string otherwise"
                ),
            ));
        }
        clauses.push(Clause {
            entity,
            op: op.clone(),
            value,
        });
        i += 3;
    }
    Ok(clauses)
}

fn bad(filter: &str, why: String) -> Error {
    Error::invalid_field("filter", format!("Invalid filter {filter:?}: {why}"))
}

#[derive(Debug, Clone)]
enum Token {
    Word(String),
    Text(String),
    Op(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&d| d == c)
                .ok_or_else(|| bad(text, "unterminated string".into()))?;
            out.push(Token::Text(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else if "=!<>".contains(c) {
            let two = chars.get(i + 1) == Some(&'=');
            let op: String = chars[i..i + if two { 2 } else { 1 }].iter().collect();
            if op == "!" {
                return Err(bad(text, "`!` must be followed by `=`".into()));
            }
            out.push(Token::Op(op));
            i += if two { 2 } else { 1 };
        } else {
            // A word: letters, digits, `.`, `_`, `-`, and backquoted or double-quoted parts.
            let mut word = String::new();
            while i < chars.len() && !chars[i].is_whitespace() && !"=!<>'".contains(chars[i]) {
                if chars[i] == '`' || (chars[i] == '"' && !word.is_empty()) {
                    let q = chars[i];
                    let end = chars[i + 1..]
                        .iter()
                        .position(|&d| d == q)
                        .ok_or_else(|| bad(text, "unterminated quoted key".into()))?;
                    word.extend(&chars[i + 1..i + 1 + end]);
                    i += end + 2;
                } else {
                    word.push(chars[i]);
                    i += 1;
                }
            }
            if word.eq_ignore_ascii_case("like") || word.eq_ignore_ascii_case("ilike") {
                out.push(Token::Op(word.to_ascii_uppercase()));
            } else {
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

fn entity_of(word: &str) -> std::result::Result<Entity, String> {
    let (prefix, key) = match word.split_once('.') {
        Some((p, k)) => (p.to_ascii_lowercase(), k.to_string()),
        None => ("attributes".into(), word.to_string()),
    };
    if key.is_empty() {
        return Err(format!("{word:?} names no key"));
    }
    match prefix.as_str() {
        "metrics" | "metric" => Ok(Entity::Metric(key)),
        "params" | "param" | "parameters" | "parameter" => Ok(Entity::Param(key)),
        "tags" | "tag" => Ok(Entity::Tag(key)),
        "attributes" | "attribute" | "attr" | "run" => Ok(Entity::Attribute(key)),
        other => Err(format!(
            "unknown entity type {other:?}: expected metrics, params, tags or attributes"
        )),
    }
}

/// The run column an attribute name stands for.
fn run_attribute(name: &str) -> Result<&'static str> {
    Ok(match name {
        "status" => "r.status",
        "run_name" | "name" => "r.name",
        "run_id" | "run_uuid" => "r.id",
        "user_id" => "r.user_id",
        "start_time" => "r.start_ms",
        "end_time" => "r.end_ms",
        "lifecycle_stage" => "r.lifecycle_stage",
        other => {
            return Err(Error::invalid_field(
                "filter",
                format!("unknown run attribute {other:?}: expected status, run_name, run_id, user_id, start_time or end_time"),
            ))
        }
    })
}

/// A bound value for the dynamically built query.
enum Bind {
    Text(String),
    Number(f64),
    Int(i64),
}

/// One SQL condition per clause, filling `binds` (placeholders numbered after what is there).
fn conditions(clauses: &[Clause], binds: &mut Vec<Bind>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for clause in clauses {
        let op = match clause.op.as_str() {
            "ILIKE" => "LIKE",
            o => o,
        };
        let ci = clause.op == "ILIKE";
        let value_ph = |v: &Literal, binds: &mut Vec<Bind>| {
            binds.push(match v {
                Literal::Text(t) if ci => Bind::Text(t.to_lowercase()),
                Literal::Text(t) => Bind::Text(t.clone()),
                Literal::Number(n) => Bind::Number(*n),
            });
            format!("${}", binds.len())
        };
        let (table, key) = match &clause.entity {
            Entity::Metric(k) => ("latest_metrics", k),
            Entity::Param(k) => ("run_params", k),
            Entity::Tag(k) => ("run_tags", k),
            Entity::Attribute(a) => {
                let column = run_attribute(a)?;
                let lhs = if ci {
                    format!("LOWER({column})")
                } else {
                    column.to_string()
                };
                let value = match (&clause.value, column) {
                    (Literal::Text(t), "r.start_ms" | "r.end_ms") => {
                        let n: i64 = t.parse().map_err(|_| {
                            Error::invalid_field("filter", format!("{a} needs a number, got {t:?}"))
                        })?;
                        binds.push(Bind::Int(n));
                        format!("${}", binds.len())
                    }
                    (v, _) => value_ph(v, binds),
                };
                out.push(format!("{lhs} {op} {value}"));
                continue;
            }
        };
        binds.push(Bind::Text(key.clone()));
        let key_ph = format!("${}", binds.len());
        let column = if ci { "LOWER(x.value)" } else { "x.value" };
        let value = value_ph(&clause.value, binds);
        out.push(format!(
            "EXISTS (SELECT 1 FROM {table} x WHERE x.run_id = r.id AND x.key = {key_ph} AND {column} {op} {value})"
        ));
    }
    Ok(out)
}

/// The ORDER BY of a search: the given keys, then newest first.
fn order_by(order: &[String], binds: &mut Vec<Bind>) -> Result<String> {
    let mut parts = Vec::new();
    for item in order {
        let mut words = item.split_whitespace();
        let (Some(field), dir, None) = (words.next(), words.next(), words.next()) else {
            return Err(Error::invalid_field(
                "order_by",
                format!("invalid order_by clause {item:?}"),
            ));
        };
        let dir = match dir.map(str::to_ascii_uppercase).as_deref() {
            None | Some("ASC") => "ASC",
            Some("DESC") => "DESC",
            Some(d) => {
                return Err(Error::invalid_field(
                    "order_by",
                    format!("invalid direction {d:?}: expected ASC or DESC"),
                ))
            }
        };
        let field = field.replace('`', "");
        let expr = match entity_of(&field).map_err(|m| Error::invalid_field("order_by", m))? {
            Entity::Attribute(a) => run_attribute(&a)?.to_string(),
            Entity::Metric(k) => sub_select("latest_metrics", k, binds),
            Entity::Param(k) => sub_select("run_params", k, binds),
            Entity::Tag(k) => sub_select("run_tags", k, binds),
        };
        // Runs without the value come last, whatever the direction (as MLflow orders them).
        parts.push(format!(
            "CASE WHEN {expr} IS NULL THEN 1 ELSE 0 END, {expr} {dir}"
        ));
    }
    parts.push("r.start_ms DESC, r.id".into());
    Ok(parts.join(", "))
}

fn sub_select(table: &str, key: String, binds: &mut Vec<Bind>) -> String {
    binds.push(Bind::Text(key));
    format!(
        "(SELECT x.value FROM {table} x WHERE x.run_id = r.id AND x.key = ${})",
        binds.len()
    )
}

/// A search request.
#[derive(Debug, Clone)]
pub struct RunSearch {
    /// Experiments to look in (none: every experiment).
    pub experiment_ids: Vec<i64>,
    /// MLflow filter text.
    pub filter: String,
    /// Lifecycle stages shown.
    pub view: ViewType,
    /// `metrics.auc DESC`…
    pub order_by: Vec<String>,
    /// Rows skipped (the page token).
    pub offset: i64,
    /// Page size.
    pub limit: i64,
}

impl TrackingStore {
    /// Runs matching a search, one page.
    pub async fn search_tracking_runs(&self, search: &RunSearch) -> Result<Vec<TrackingRun>> {
        let clauses = parse_filter(&search.filter)?;
        let mut binds = Vec::new();
        let mut conds = conditions(&clauses, &mut binds)?;
        conds.push(search.view.condition("r.lifecycle_stage"));
        if !search.experiment_ids.is_empty() {
            let list: Vec<String> = search
                .experiment_ids
                .iter()
                .map(|id| {
                    binds.push(Bind::Int(*id));
                    format!("${}", binds.len())
                })
                .collect();
            conds.push(format!("r.experiment_id IN ({})", list.join(", ")));
        }
        let order = order_by(&search.order_by, &mut binds)?;
        binds.push(Bind::Int(search.limit));
        binds.push(Bind::Int(search.offset));
        let sql = format!(
            "SELECT r.id, r.experiment_id, r.name, r.user_id, r.status, r.start_ms, r.end_ms, r.lifecycle_stage FROM tracking_runs r WHERE {} ORDER BY {order} LIMIT ${} OFFSET ${}",
            conds.join(" AND "),
            binds.len() - 1,
            binds.len()
        );
        let mut query = sqlx::query(&sql);
        for b in binds {
            query = match b {
                Bind::Text(t) => query.bind(t),
                Bind::Number(n) => query.bind(n),
                Bind::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.with_data(run_info_from_row(row)?).await?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_subset() {
        let c = parse_filter(
            "metrics.auc > 0.8 and params.x = '1' AND tags.`a.b` != \"v\" and status = 'FINISHED'",
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].entity, Entity::Metric("auc".into()));
        assert_eq!(c[0].value, Literal::Number(0.8));
        assert_eq!(c[2].entity, Entity::Tag("a.b".into()));
        assert_eq!(c[2].op, "!=");
        assert_eq!(c[3].entity, Entity::Attribute("status".into()));
        assert!(parse_filter("").unwrap().is_empty());
        assert!(parse_filter("params.x > ").is_err());
        assert!(parse_filter("metrics.auc = 'x'").is_err());
        assert!(parse_filter("bogus.x = '1'").is_err());
        assert!(parse_filter("params.x = '1' or params.y = '2'").is_err());
        assert!(parse_filter("params.x = 'unterminated").is_err());
    }
}
