//! Block conditions: the `when:` expression of a block, over variables and upstream outputs.
//!
//! ```text
//! when: "variables.mode == 'full' and (training.metrics.auc_score >= 0.8 or not variables.strict)"
//! ```
//!
//! A path's first segment is `variables` or the name of an upstream block; the rest walks that
//! block's output preview (the JSON the run page shows). Comparisons: `== != < <= > >=` between
//! numbers, strings, booleans and `null`; `and`, `or`, `not` and parentheses; a bare path is true
//! when it is neither `false`, `null`, `0` nor `""`. Expressions are parsed when the pipeline
//! loads, so a typo fails the file, not a run at 2 AM.

use serde_json::Value;
use std::cmp::Ordering;

/// A parsed `when:` expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Both hold.
    And(Box<Condition>, Box<Condition>),
    /// Either holds.
    Or(Box<Condition>, Box<Condition>),
    /// It does not hold.
    Not(Box<Condition>),
    /// A comparison of two operands.
    Compare(Operand, Op, Operand),
    /// An operand taken for its truth.
    Truthy(Operand),
}

/// A value in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal number, string, boolean or null.
    Literal(Value),
    /// `variables.x` or `block.field.sub`.
    Path(Vec<String>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Condition {
    /// Parse an expression; the error says what was expected where.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let condition = parser.or()?;
        match parser.peek() {
            None => Ok(condition),
            Some(t) => Err(format!("unexpected {t:?} after a complete expression")),
        }
    }

    /// Call `check` on every path (to check, at load, that each names something that exists).
    pub fn visit_paths<E>(
        &self,
        check: &mut impl FnMut(&[String]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut operands = Vec::new();
        self.collect(&mut operands);
        for operand in operands {
            if let Operand::Path(path) = operand {
                check(path)?;
            }
        }
        Ok(())
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Operand>) {
        match self {
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Condition::Not(a) => a.collect(out),
            Condition::Compare(a, _, b) => out.extend([a, b]),
            Condition::Truthy(a) => out.push(a),
        }
    }

    /// Evaluate against `{ "variables": {...}, "<block>": <preview>, ... }`. A missing path is
    /// `null`, so `training.metrics.auc_score >= 0.8` is false when the metric is absent.
    pub fn holds(&self, context: &Value) -> bool {
        match self {
            Condition::And(a, b) => a.holds(context) && b.holds(context),
            Condition::Or(a, b) => a.holds(context) || b.holds(context),
            Condition::Not(a) => !a.holds(context),
            Condition::Truthy(a) => truthy(&a.value(context)),
            Condition::Compare(a, op, b) => compare(&a.value(context), *op, &b.value(context)),
        }
    }
}

impl Operand {
    fn value(&self, context: &Value) -> Value {
        match self {
            Operand::Literal(v) => v.clone(),
            Operand::Path(path) => path
                .iter()
                .try_fold(context, |v, key| v.get(key))
                .cloned()
                .unwrap_or(Value::Null),
        }
    }
}

fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn compare(a: &Value, op: Op, b: &Value) -> bool {
    let ordering = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        // Values of different types are unequal and unordered: `null >= 0.8` is false.
        _ => None,
    };
    match (op, ordering) {
        (Op::Eq, o) => o == Some(Ordering::Equal),
        (Op::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => false,
        (Op::Lt, Some(o)) => o == Ordering::Less,
        (Op::Le, Some(o)) => o != Ordering::Greater,
        (Op::Gt, Some(o)) => o == Ordering::Greater,
        (Op::Ge, Some(o)) => o != Ordering::Less,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    Text(String),
    Op(Op),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|&d| d == c).ok_or_else(|| {
                    format!("unterminated string starting at character {}", i + 1)
                })?;
                tokens.push(Token::Text(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '=' | '!' | '<' | '>' => {
                let (op, len) = match two.as_str() {
                    "==" => (Op::Eq, 2),
                    "!=" => (Op::Ne, 2),
                    "<=" => (Op::Le, 2),
                    ">=" => (Op::Ge, 2),
                    _ if c == '<' => (Op::Lt, 1),
                    _ if c == '>' => (Op::Gt, 1),
                    _ => {
                        return Err(format!(
                            "unknown operator at character {}: use == or !=",
                            i + 1
                        ))
                    }
                };
                tokens.push(Token::Op(op));
                i += len;
            }
            _ if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | 'e' | 'E' | '_'))
                {
                    i += 1;
                }
                let number: String = chars[start..i].iter().filter(|&&d| d != '_').collect();
                let value = number
                    .parse()
                    .map_err(|_| format!("bad number {number:?} at character {}", start + 1))?;
                tokens.push(Token::Number(value));
            }
            _ if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '-'))
                {
                    i += 1;
                }
                tokens.push(Token::Word(chars[start..i].iter().collect()));
            }
            _ => return Err(format!("unexpected character {c:?} at character {}", i + 1)),
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w == word) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Condition::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, String> {
        if self.keyword("not") {
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            return match self.next() {
                Some(Token::Close) => Ok(inner),
                other => Err(format!("expected ')' but found {other:?}")),
            };
        }
        let left = self.operand()?;
        match self.peek() {
            Some(Token::Op(op)) => {
                let op = *op;
                self.at += 1;
                Ok(Condition::Compare(left, op, self.operand()?))
            }
            _ => Ok(Condition::Truthy(left)),
        }
    }

    fn operand(&mut self) -> Result<Operand, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(Operand::Literal(Value::from(n))),
            Some(Token::Text(s)) => Ok(Operand::Literal(Value::String(s))),
            Some(Token::Word(w)) => Ok(match w.as_str() {
                "true" => Operand::Literal(Value::Bool(true)),
                "false" => Operand::Literal(Value::Bool(false)),
                "null" => Operand::Literal(Value::Null),
                "and" | "or" | "not" => return Err(format!("expected a value but found {w:?}")),
                _ => {
                    let path: Vec<String> = w.split('.').map(str::to_string).collect();
                    if path.iter().any(String::is_empty) {
                        return Err(format!("bad path {w:?}: empty segment"));
                    }
                    Operand::Path(path)
                }
            }),
            Some(other) => Err(format!("expected a value but found {other:?}")),
            None => Err("expected a value but the expression ended".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(expr: &str, context: &Value) -> bool {
        Condition::parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .holds(context)
    }

    #[test]
    fn compares_numbers_strings_and_booleans() {
        let ctx = json!({"variables": {"mode": "full", "strict": false, "rows": 1000},
                          "training": {"metrics": {"auc_score": 0.83}}});
        assert!(holds("variables.mode == 'full'", &ctx));
        assert!(!holds("variables.mode != \"full\"", &ctx));
        assert!(holds("training.metrics.auc_score >= 0.8", &ctx));
        assert!(!holds("training.metrics.auc_score > 0.9", &ctx));
        assert!(holds(
            "variables.rows <= 1_000 and variables.rows > -1",
            &ctx
        ));
        assert!(holds("not variables.strict", &ctx));
        assert!(holds("variables.strict == false", &ctx));
        assert!(holds(
            "variables.mode == 'quick' or (training.metrics.auc_score < 0.9 and not variables.strict)",
            &ctx
        ));
    }

    #[test]
    fn missing_paths_are_null_and_unordered() {
        let ctx = json!({"variables": {}});
        assert!(!holds("training.metrics.auc_score >= 0.8", &ctx));
        assert!(!holds("training.metrics.auc_score < 0.8", &ctx));
        assert!(holds("training.metrics.auc_score == null", &ctx));
        assert!(!holds("variables.flag", &ctx));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let ctx = json!({"variables": {"a": true, "b": false, "c": false}});
        assert!(holds("variables.a or variables.b and variables.c", &ctx));
        assert!(!holds("(variables.a or variables.b) and variables.c", &ctx));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        for (expr, wanted) in [
            ("variables.x ==", "expression ended"),
            ("variables.x = 1", "use == or !="),
            ("(variables.x", "expected ')'"),
            ("variables.x == 'open", "unterminated string"),
            ("variables.x 1", "unexpected Number"),
            ("variables..x", "empty segment"),
            ("a == @", "unexpected character '@'"),
        ] {
            let err = Condition::parse(expr).unwrap_err();
            assert!(err.contains(wanted), "{expr}: {err}");
        }
    }

    #[test]
    fn visit_paths_sees_every_path() {
        let c =
            Condition::parse("variables.x == 1 and (training.metrics.auc > 0.5 or not y)").unwrap();
        let mut seen = Vec::new();
        c.visit_paths(&mut |p| {
            seen.push(p.join("."));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(seen, vec!["variables.x", "training.metrics.auc", "y"]);
    }
}
