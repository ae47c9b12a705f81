//! A JSON document checked for a key given twice in one object, without building its tree:
//! `serde_json::Value` and serde's derived maps keep the last of two equal keys silently (two
//! "age" entries under a profile's "columns", a metric given twice in a baseline report).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// `Err("line 5: key 'age' appears twice in one object ...")` for the first key given twice in
/// one object of `text`. Text that is not JSON passes: the caller's own parse reports it.
pub fn check(text: &str) -> Result<(), String> {
    let twice = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    match Unique(&twice).deserialize(&mut deserializer) {
        Err(error) => match twice.into_inner() {
            Some(key) => Err(format!(
                "line {}: key '{}' appears twice in one object (a JSON reader keeps only the last); give each key once",
                error.line(),
                key.escape_debug()
            )),
            None => Ok(()),
        },
        Ok(()) => Ok(()),
    }
}

/// Walks one value, storing the first key found twice in one object before failing.
#[derive(Clone, Copy)]
struct Unique<'a>(&'a RefCell<Option<String>>);

impl<'de> DeserializeSeed<'de> for Unique<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Unique<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                *self.0.borrow_mut() = Some(key);
                return Err(A::Error::custom("a key appears twice in one object"));
            }
            seen.insert(key);
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_key_given_twice_in_one_object_is_named_with_its_line() {
        let text = "{\"columns\": {\n  \"age\": {\"kind\": \"numeric\"},\n  \"age\": {\"kind\": \"categorical\"}\n}}";
        assert_eq!(check(text).unwrap_err(), "line 3: key 'age' appears twice in one object (a JSON reader keeps only the last); give each key once");
        let nested = "[1, {\"a\": {\"b\": [true, null, {\"x\\n\": 1, \"x\\n\": 2}]}}]";
        assert_eq!(
            check(nested).unwrap_err(),
            "line 1: key 'x\\n' appears twice in one object (a JSON reader keeps only the last); give each key once"
        );
        // The same key in two objects, and text that is not JSON (its own parse says why), pass.
        assert_eq!(check("[{\"a\": 1}, {\"a\": 2, \"b\": {\"a\": 3}}, 1e400, -5, \"s\"]"), Ok(()));
        assert_eq!(check("{\"a\": "), Ok(()));
    }
}
