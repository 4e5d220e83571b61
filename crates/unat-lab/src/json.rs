//! A minimal reader for the flat JSON objects the lab's python scripts
//! print, one per line (`{"key": "text", "flag": true, "n": 3, "x": null}`).
//! Nested values are not needed and not supported.

use std::collections::BTreeMap;

/// One value of a flat JSON object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Bool(bool),
    Num(f64),
    Null,
}

/// A parsed flat object.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Object(BTreeMap<String, Value>);

impl Object {
    /// The string value of `key`, if it is a string.
    pub(crate) fn str(&self, key: &str) -> Option<&str> {
        match self.0.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The boolean value of `key`; `false` when missing or not a boolean.
    pub(crate) fn flag(&self, key: &str) -> bool {
        matches!(self.0.get(key), Some(Value::Bool(true)))
    }

    /// The numeric value of `key` as an integer, if it is a number.
    pub(crate) fn num(&self, key: &str) -> Option<u64> {
        match self.0.get(key) {
            Some(Value::Num(n)) if *n >= 0.0 => Some(*n as u64),
            _ => None,
        }
    }

    /// True when the object has `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }
}

/// Every line of `text` that is a flat JSON object, parsed.
pub(crate) fn objects(text: &str) -> Vec<Object> {
    text.lines().filter_map(parse).collect()
}

/// Parses one flat JSON object; `None` if `line` is not one.
pub(crate) fn parse(line: &str) -> Option<Object> {
    let mut p = Parser {
        chars: line.trim().chars().collect(),
        pos: 0,
    };
    let mut map = BTreeMap::new();
    p.expect('{')?;
    p.ws();
    if p.peek() == Some('}') {
        p.pos += 1;
    } else {
        loop {
            p.ws();
            let key = p.string()?;
            p.ws();
            p.expect(':')?;
            p.ws();
            let value = p.value()?;
            map.insert(key, value);
            p.ws();
            match p.next()? {
                ',' => continue,
                '}' => break,
                _ => return None,
            }
        }
    }
    p.ws();
    (p.pos == p.chars.len()).then_some(Object(map))
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn expect(&mut self, c: char) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        for c in word.chars() {
            self.expect(c)?;
        }
        Some(())
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            '"' => self.string().map(Value::Str),
            't' => self.literal("true").map(|()| Value::Bool(true)),
            'f' => self.literal("false").map(|()| Value::Bool(false)),
            'n' => self.literal("null").map(|()| Value::Null),
            _ => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || "+-.eE".contains(c))
                {
                    self.pos += 1;
                }
                let text: String = self.chars.get(start..self.pos)?.iter().collect();
                text.parse().ok().map(Value::Num)
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        self.expect('"')?;
        let mut s = String::new();
        loop {
            match self.next()? {
                '"' => return Some(s),
                '\\' => match self.next()? {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let hex: String = self.chars.get(self.pos..self.pos + 4)?.iter().collect();
                        self.pos += 4;
                        let code = u32::from_str_radix(&hex, 16).ok()?;
                        s.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    }
                    other => s.push(other),
                },
                c => s.push(c),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_flat_objects() {
        let o = parse(
            r#"{"name": "peer1", "public": "198.18.0.2:1024", "received": true, "peer_received": false, "sent": 7, "error": null, "data": "a\"b\u00e9\n"}"#,
        )
        .unwrap();
        assert_eq!(o.str("name"), Some("peer1"));
        assert_eq!(o.str("public"), Some("198.18.0.2:1024"));
        assert!(o.flag("received"));
        assert!(!o.flag("peer_received"));
        assert!(!o.flag("missing"));
        assert_eq!(o.num("sent"), Some(7));
        assert!(o.has("error"));
        assert_eq!(o.str("error"), None);
        assert_eq!(o.str("data"), Some("a\"b\u{e9}\n"));
        assert_eq!(parse("{}"), Some(Object::default()));
    }

    #[test]
    fn rejects_other_lines() {
        for line in [
            "",
            "register session=1",
            "{\"a\": }",
            "{\"a\": 1",
            "{\"a\": 1} x",
            "{\"a\": [1]}",
        ] {
            assert_eq!(parse(line), None, "{line}");
        }
        assert_eq!(objects("noise\n{\"a\": 1}\n{bad\n{\"b\": 2}\n").len(), 2);
    }
}
