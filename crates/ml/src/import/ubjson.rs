//! A reader of Universal Binary JSON (draft 12, the `.ubj` format XGBoost
//! saves models in) into a [`serde_json::Value`], so that one reader of
//! XGBoost's model tree serves both of its formats. No maintained crate
//! reads this format; the subset here is the whole of the draft but for
//! high-precision numbers, which XGBoost does not write.
//!
//! Malformed input is an error naming the byte offset, never a panic, and no
//! buffer is sized from a count in the input before that many values are
//! actually read.

use serde_json::{Map, Number, Value};

/// Parses `bytes`, which must hold exactly one value.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader { bytes, at: 0 };
    let marker = r.marker()?;
    let v = r.value(marker, 0)?;
    if r.at != bytes.len() {
        return Err(format!(
            "UBJSON: {} trailing bytes at offset {}",
            bytes.len() - r.at,
            r.at
        ));
    }
    Ok(v)
}

impl Reader<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("UBJSON: {what} at offset {}", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        match self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
        {
            Some(end) => {
                let s = &self.bytes[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => self.fail(&format!("truncated: {n} more bytes needed")),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// The next marker, skipping no-ops.
    fn marker(&mut self) -> Result<u8, String> {
        loop {
            let m = self.take(1)?[0];
            if m != b'N' {
                return Ok(m);
            }
        }
    }

    /// An integer of type `marker`.
    fn integer(&mut self, marker: u8) -> Result<i64, String> {
        Ok(match marker {
            b'i' => i64::from(i8::from_be_bytes(self.array()?)),
            b'U' => i64::from(self.take(1)?[0]),
            b'I' => i64::from(i16::from_be_bytes(self.array()?)),
            b'l' => i64::from(i32::from_be_bytes(self.array()?)),
            b'L' => i64::from_be_bytes(self.array()?),
            _ => return self.fail(&format!("expected an integer type, found {}", show(marker))),
        })
    }

    /// A length or count: an integer that is not negative.
    fn length(&mut self) -> Result<usize, String> {
        let m = self.marker()?;
        let n = self.integer(m)?;
        usize::try_from(n).or_else(|_| self.fail(&format!("negative length {n}")))
    }

    fn string(&mut self) -> Result<String, String> {
        let m = self.marker()?;
        self.key(m)
    }

    fn float(&self, x: f64) -> Result<Value, String> {
        match Number::from_f64(x) {
            Some(n) => Ok(Value::Number(n)),
            None => self.fail(&format!("non-finite number {x}")),
        }
    }

    /// The value whose type marker `marker` has been read.
    fn value(&mut self, marker: u8, depth: usize) -> Result<Value, String> {
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::Number(self.integer(marker)?.into()),
            b'd' => {
                let x = f64::from(f32::from_be_bytes(self.array()?));
                self.float(x)?
            }
            b'D' => {
                let x = f64::from_be_bytes(self.array()?);
                self.float(x)?
            }
            b'C' => Value::String(char::from(self.take(1)?[0]).to_string()),
            b'S' => Value::String(self.string()?),
            b'[' | b'{' => {
                if depth >= MAX_DEPTH {
                    return self.fail("containers nested too deep");
                }
                self.container(marker == b'{', depth + 1)?
            }
            _ => return self.fail(&format!("unknown type marker {}", show(marker))),
        })
    }

    /// An array or object whose opening marker has been read.
    fn container(&mut self, object: bool, depth: usize) -> Result<Value, String> {
        let close = if object { b'}' } else { b']' };
        // optional `$type` (then `#count` is required) and `#count`
        let mut m = self.marker()?;
        let mut elem_type = None;
        if m == b'$' {
            elem_type = Some(self.take(1)?[0]);
            m = self.marker()?;
            if m != b'#' {
                return self.fail("a typed container without a count");
            }
        }
        let count = if m == b'#' {
            let n = self.length()?;
            // every element takes a byte at least (counts of empty types too)
            if n > self.bytes.len() - self.at {
                return self.fail(&format!("count {n} exceeds the input"));
            }
            Some(n)
        } else {
            None
        };
        let mut items = Vec::new();
        let mut map = Map::new();
        let mut i = 0;
        loop {
            // without a count, `m` is the marker that starts the next element, or the close
            match count {
                Some(n) if i == n => break,
                Some(_) => {}
                None => {
                    if i > 0 {
                        m = self.marker()?;
                    }
                    if m == close {
                        break;
                    }
                }
            }
            let key = if object {
                let len_marker = if count.is_some() { self.marker()? } else { m };
                Some(self.key(len_marker)?)
            } else {
                None
            };
            let vm = match elem_type {
                Some(t) => t,
                None if !object && count.is_none() => m,
                None => self.marker()?,
            };
            let v = self.value(vm, depth)?;
            match key {
                Some(k) => {
                    map.insert(k, v);
                }
                None => items.push(v),
            }
            i += 1;
        }
        Ok(if object {
            Value::Object(map)
        } else {
            Value::Array(items)
        })
    }

    /// An object key: its length (of integer type `len_marker`) and bytes.
    fn key(&mut self, len_marker: u8) -> Result<String, String> {
        let n = self.integer(len_marker)?;
        let n = usize::try_from(n).or_else(|_| self.fail(&format!("negative length {n}")))?;
        let at = self.at;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| format!("UBJSON: invalid UTF-8 at offset {at}"))
    }
}

/// A marker byte for messages.
fn show(m: u8) -> String {
    if m.is_ascii_graphic() {
        format!("`{}`", char::from(m))
    } else {
        format!("0x{m:02x}")
    }
}

/// Deepest nesting read (XGBoost's models nest about 6 deep).
const MAX_DEPTH: usize = 64;

/// A position in the input.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}
