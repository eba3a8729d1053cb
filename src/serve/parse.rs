//! Request bodies → JSON values, with errors that name where they happened.
//!
//! `serde_json` refuses numbers beyond f64 (`1e400`) as a syntax error of the whole
//! document. That is a bad *value*, not bad JSON, so parsing tracks the batch index and
//! object key being read, and such an error becomes a 422 naming the field.

use super::error::ApiError;
use crate::data::validate::Invalid;
use axum::http::StatusCode;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::RefCell;
use std::fmt;

/// Where the parser is: the batch item and the top-level key of the object being read.
#[derive(Default)]
struct Position {
    index: Option<usize>,
    key: Option<String>,
}

/// What a body is expected to hold, which decides where object keys are tracked.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Shape {
    /// One house: keys of the top-level object are tracked.
    Item,
    /// An array of houses: the index and the keys of each item are tracked.
    Batch,
    /// An MLflow scoring body: items of a top-level key's array value are tracked like a batch.
    Invocation,
}

/// Parses a body: one JSON value, tracking the batch index and house field being read.
pub fn parse_body(bytes: &[u8], shape: Shape) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "empty_body",
            "the request body is empty; send a JSON object",
        ));
    }
    let at = RefCell::new(Position::default());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let role = match shape {
        Shape::Item => Role::Item,
        Shape::Batch => Role::Batch,
        Shape::Invocation => Role::Invocation,
    };
    let parsed = Tracked { at: &at, role }.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        let at = at.into_inner();
        match at.key {
            // The only syntax error a well-formed document can raise mid-value.
            Some(key) if e.to_string().starts_with("number out of range") => {
                let err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not_finite",
                    format!("field `{key}`: the number is too large to be a finite f64"),
                )
                .with_field(key);
                match at.index {
                    Some(i) => err.at_index(i),
                    None => err,
                }
            }
            _ => ApiError::invalid(Invalid::malformed(e.to_string())),
        }
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// A top-level array whose items are tracked by index.
    Batch,
    /// A value whose object keys are tracked.
    Item,
    /// A top-level object whose values are tracked as batches when they are arrays.
    Invocation,
}

struct Tracked<'a> {
    at: &'a RefCell<Position>,
    role: Role,
}

impl<'de> DeserializeSeed<'de> for Tracked<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Tracked<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json only yields finite floats, so this never becomes null.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        if self.role == Role::Batch {
            loop {
                self.at.borrow_mut().index = Some(items.len());
                match seq.next_element_seed(Tracked { at: self.at, role: Role::Item })? {
                    Some(item) => items.push(item),
                    None => break,
                }
            }
            self.at.borrow_mut().index = None;
        } else {
            while let Some(item) = seq.next_element::<Value>()? {
                items.push(item);
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match self.role {
                Role::Item => {
                    self.at.borrow_mut().key = Some(key.clone());
                    map.next_value::<Value>()?
                }
                Role::Invocation => map.next_value_seed(Tracked { at: self.at, role: Role::Batch })?,
                Role::Batch => map.next_value::<Value>()?,
            };
            object.insert(key, value);
        }
        self.at.borrow_mut().key = None;
        Ok(Value::Object(object))
    }
}
