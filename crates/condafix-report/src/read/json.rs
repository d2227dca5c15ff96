//! One streaming pass over a JSON value, whatever it is: a condafix document, a Graph
//! collection (`{"value": [...]}`) or a single run state, Ansible's json callback output
//! (`{"plays": [...]}`), or an array of any of these. Collections are streamed element by
//! element (each under its own size cap), and every field the fleet does not need is skipped
//! without being kept.

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::condafix::{self, DocLite, Hint};
use super::intune::{self, RunState};
use super::sink::Sink;
use crate::error::Problem;
use crate::limits::Budget;
use crate::model::Source;

/// Read one JSON value into the sink.
pub struct Any<'s, 'a> {
    pub sink: &'s mut Sink<'a>,
    pub budget: &'s Budget,
    pub depth: u8,
}

impl<'de> DeserializeSeed<'de> for Any<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Any<'_, '_> {
    fn foreign(self, what: String) {
        self.sink.note(None, &Problem::Foreign(what));
    }
}

impl<'de> Visitor<'de> for Any<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Any {
            sink,
            budget,
            depth,
        } = self;
        let mut doc = DocLite::default();
        let mut run = RunState::default();
        let mut collection = false;
        let mut ansible = None;
        let mut keys: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let k = key.to_ascii_lowercase();
            if keys.len() < 5 {
                keys.push(key.chars().take(40).collect());
            }
            if doc.take(&k, &mut map)? || run.take(&k, &mut map)? {
                continue;
            }
            match k.as_str() {
                "value" if depth == 0 => {
                    map.next_value_seed(Elements {
                        sink: &mut *sink,
                        budget,
                        depth: depth + 1,
                    })?;
                    collection = true;
                }
                "plays" if depth == 0 => {
                    ansible = Some(map.next_value_seed(super::ansible::Plays {
                        sink: &mut *sink,
                        budget,
                    })?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(found) = ansible {
            if found == 0 {
                sink.note(None, &Problem::AnsibleWithoutCondafix);
            }
        } else if doc.is_condafix() {
            match condafix::observation(doc, sink, &Hint::default()) {
                Ok(o) => sink.emit(o),
                Err(p) => sink.note(None, &p),
            }
        } else if run.seen {
            let o = intune::observation(&run, sink, Source::IntuneGraph, None);
            sink.emit(o);
        } else if !collection {
            let what = if keys.is_empty() {
                "an empty object".to_string()
            } else {
                format!("an object with the keys {}", keys.join(", "))
            };
            sink.note(None, &Problem::Foreign((sink.redact)(&what)));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Elements {
            sink: self.sink,
            budget: self.budget,
            depth: self.depth + 1,
        }
        .visit_seq(seq)
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.foreign("a string".into());
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.foreign("a boolean".into());
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.foreign("a number".into());
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.foreign("a number".into());
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.foreign("a number".into());
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.foreign("null".into());
        Ok(())
    }
}

/// The elements of an array (a top-level array, Graph's `value`), each read as [`Any`] under
/// its own size cap.
pub struct Elements<'s, 'a> {
    pub sink: &'s mut Sink<'a>,
    pub budget: &'s Budget,
    pub depth: u8,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth > 3 {
            // Arrays in arrays in arrays: not a shape any of the inputs has.
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            self.sink
                .note(None, &Problem::Foreign("arrays nested three deep".into()));
            return Ok(());
        }
        loop {
            self.budget.reset();
            let seed = Any {
                sink: &mut *self.sink,
                budget: self.budget,
                depth: self.depth,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
        }
    }
}
