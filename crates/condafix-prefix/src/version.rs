use std::fmt;

/// A dotted version as conda writes it (`3.7.4`, `1.1.1d`, `3.0.15`), compared numerically
/// component by component; a trailing letter (`1.1.1d`) is kept as a suffix.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Version {
    raw: String,
    parts: Vec<u64>,
    suffix: String,
}

impl Version {
    pub fn parse(raw: &str) -> Self {
        let mut parts = Vec::new();
        let mut suffix = String::new();
        for piece in raw.split('.') {
            let digits: String = piece.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() {
                suffix = piece.to_string();
                break;
            }
            parts.push(digits.parse().unwrap_or(u64::MAX));
            if digits.len() < piece.len() {
                suffix = piece[digits.len()..].to_string();
                break;
            }
        }
        Self {
            raw: raw.to_string(),
            parts,
            suffix,
        }
    }

    pub fn major(&self) -> u64 {
        self.part(0)
    }
    pub fn minor(&self) -> u64 {
        self.part(1)
    }
    pub fn patch(&self) -> u64 {
        self.part(2)
    }
    fn part(&self, i: usize) -> u64 {
        self.parts.get(i).copied().unwrap_or(0)
    }

    /// `(major, minor)`, e.g. `(3, 7)`.
    pub fn major_minor(&self) -> (u64, u64) {
        (self.major(), self.minor())
    }

    /// Compare the numeric part with `other` (`"3.8.15"`), ignoring suffixes.
    pub fn at_least(&self, other: &str) -> bool {
        let other = Version::parse(other);
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            let (a, b) = (self.part(i), other.part(i));
            if a != b {
                return a > b;
            }
        }
        true
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({})", self.raw)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

impl schemars::JsonSchema for Version {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "A version as written." })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_numerically_not_lexically() {
        let v = Version::parse("3.10.0");
        assert!(v.at_least("3.9.9"));
        assert!(!Version::parse("3.8.13").at_least("3.8.15"));
        assert!(Version::parse("3.8.15").at_least("3.8.15"));
        assert_eq!(Version::parse("1.1.1d").major_minor(), (1, 1));
        assert_eq!(Version::parse("1.1.1d").suffix, "d");
        assert_eq!(Version::parse("3.12").patch(), 0);
    }
}
