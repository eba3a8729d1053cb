//! A Kafka message's value → an event, or a dead letter saying why it is not one.
//!
//! The value is a JSON object: the schema's fields, plus an optional `id` (a whole number
//! 0 ≤ id < 2^63) and `ts` (event time, milliseconds since the Unix epoch). Other keys are
//! ignored, as producers add their own. A message without `id` gets one from where it is
//! stored, [`position_id`]: redelivered after a crash, it carries the same id again.
//! Anything else (an empty value, bytes that are not JSON, JSON that is not an object, a
//! wrong `id` or `ts`) is a dead letter whose `raw` keeps the value's bytes.

use crate::data::dead_letter::DeadLetter;
use crate::data::validate::{event_from_json, Invalid};
use crate::data::Event;
use crate::program::Schema;
use serde_json::Value as Json;

/// Bits of a position id given to the offset; the partition takes the bits above.
pub const OFFSET_BITS: u32 = 40;

/// The id of the message at `offset` of `partition`, for messages that carry none:
/// `partition · 2^40 + offset` (below 2^63 for partitions below 2^23).
pub fn position_id(partition: i32, offset: i64) -> u64 {
    ((partition.max(0) as u64) << OFFSET_BITS) | (offset.max(0) as u64 & ((1 << OFFSET_BITS) - 1))
}

/// The (partition, offset) a [`position_id`] was made from.
pub fn position_of(id: u64) -> (i32, i64) {
    ((id >> OFFSET_BITS) as i32, (id & ((1 << OFFSET_BITS) - 1)) as i64)
}

/// Where a message was read, and its broker timestamp (ms) when it has one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
}

/// Decodes one message value read at `at`; `now_ms` is the event time of last resort.
pub fn decode(schema: &Schema, value: Option<&[u8]>, at: Position, now_ms: i64) -> Result<Event, Box<DeadLetter>> {
    let fallback_id = position_id(at.partition, at.offset);
    let ts = at.timestamp_ms.unwrap_or(now_ms);
    let bytes = value.unwrap_or_default();
    let dead = |invalid: Invalid| Box::new(DeadLetter::from_bytes(fallback_id, ts, &invalid, bytes));
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(dead(Invalid::malformed("the message has no value")));
    }
    let json: Json = serde_json::from_slice(bytes).map_err(|e| dead(Invalid::malformed(e.to_string())))?;
    let Some(object) = json.as_object() else {
        return Err(dead(Invalid::malformed(format!("expected a JSON object, found {}", kind_of(&json)))));
    };
    let id = match object.get("id") {
        None | Some(Json::Null) => fallback_id,
        Some(v) => match v.as_u64().filter(|&id| id < 1 << 63) {
            Some(id) => id,
            None => {
                return Err(dead(Invalid::malformed(format!("`id` must be a whole number 0 ≤ id < 2^63, found {v}"))))
            }
        },
    };
    let ts = match object.get("ts") {
        None | Some(Json::Null) => ts,
        Some(v) => match v.as_i64() {
            Some(ts) => ts,
            None => return Err(dead(Invalid::malformed(format!("`ts` must be whole milliseconds, found {v}")))),
        },
    };
    event_from_json(schema, id, ts, &json).map_err(|invalid| Box::new(DeadLetter::from_bytes(id, ts, &invalid, bytes)))
}

fn kind_of(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;
    use proptest::prelude::*;

    fn schema() -> Schema {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/main.hf");
        let program = crate::check::check_file(&path).unwrap().program.unwrap();
        program.schemas[0].clone()
    }

    const AT: Position = Position { partition: 3, offset: 77, timestamp_ms: Some(1_700_000_000_000) };

    #[test]
    fn a_house_with_and_without_id_and_ts() {
        let s = schema();
        let body = br#"{"Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
            "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "1 Main St", "source": "x"}"#;
        let e = decode(&s, Some(body), AT, 5).unwrap();
        assert_eq!((e.id, e.ts_ms), (position_id(3, 77), 1_700_000_000_000));
        assert_eq!(position_of(e.id), (3, 77));
        assert_eq!(e.values[s.fields.iter().position(|f| f.name == "Avg_Area_Income").unwrap()], Value::Num(65000.0));
        let mut with: serde_json::Map<String, Json> = serde_json::from_slice(body).unwrap();
        with.insert("id".into(), 12.into());
        with.insert("ts".into(), 99.into());
        let e = decode(&s, Some(serde_json::to_vec(&with).unwrap().as_slice()), AT, 5).unwrap();
        assert_eq!((e.id, e.ts_ms), (12, 99));
        let no_time = Position { timestamp_ms: None, ..AT };
        assert_eq!(decode(&s, Some(body), no_time, 5).unwrap().ts_ms, 5);
    }

    #[test]
    fn bad_messages_are_dead_letters_with_their_bytes_and_reason() {
        let s = schema();
        let junk: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let cases: Vec<(&str, Option<&[u8]>, &str)> = vec![
            ("no value", None, "malformed"),
            ("empty", Some(b""), "malformed"),
            ("not JSON", Some(b"{not json"), "malformed"),
            ("1 MB of junk", Some(&junk), "malformed"),
            ("an array", Some(b"[1, 2]"), "malformed"),
            ("a bad id", Some(br#"{"id": -3}"#), "malformed"),
            ("a bad ts", Some(br#"{"ts": "noon"}"#), "malformed"),
            ("a wrong type", Some(br#"{"Avg_Area_Income": "rich"}"#), "wrong_type"),
        ];
        for (name, value, reason) in cases {
            let d = decode(&s, value, AT, 5).expect_err(name);
            assert_eq!(d.reason, reason, "{name}: {d:?}");
            assert_eq!(d.bytes.as_deref(), Some(value.unwrap_or_default()), "{name}");
            assert_eq!(d.id, position_id(3, 77), "{name}");
        }
    }

    proptest! {
        #[test]
        fn any_bytes_decode_or_dead_letter_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let s = schema();
            match decode(&s, Some(&bytes), AT, 5) {
                Ok(e) => prop_assert_eq!(e.values.len(), s.fields.len()),
                Err(d) => prop_assert_eq!(d.bytes.as_deref(), Some(bytes.as_slice())),
            }
        }

        #[test]
        fn position_ids_round_trip(partition in 0i32..(1 << 23), offset in 0i64..(1 << 40)) {
            let id = position_id(partition, offset);
            prop_assert!(id < 1 << 63);
            prop_assert_eq!(position_of(id), (partition, offset));
        }
    }
}
