//! Dead letters: rejected events with why, one JSON line each, so none is lost silently.

use crate::data::csv_source::Rejected;
use crate::data::generator::ts_ms;
use crate::data::validate::Invalid;
use crate::data::{Event, Value};
use crate::program::Schema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// A rejected event: its id and time, the reason's kind, the field at fault, a human
/// message, and the event itself as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The event's id.
    pub id: u64,
    /// The event's time, milliseconds since the Unix epoch.
    pub ts_ms: i64,
    /// [`InvalidReason::kind`](crate::data::invalid::InvalidReason::kind): stable, for grouping.
    pub reason: String,
    /// The schema field at fault, or null for the event as a whole.
    pub field: Option<String>,
    /// What is wrong, in words.
    pub message: String,
    /// The event as received, as far as it could be read.
    pub raw: Json,
    /// The bytes received, when the event came as bytes that could not be decoded (a Kafka
    /// message): the dead-letter topic gets them back unchanged.
    #[serde(skip)]
    pub bytes: Option<Vec<u8>>,
    /// The event's number in the stream ([`Event::seq`]), for the windows' progress.
    #[serde(skip)]
    pub seq: u64,
}

impl DeadLetter {
    /// The dead letter of `event`, rejected for `invalid`; `raw` is [`event_json`].
    pub fn new(schema: &Schema, event: &Event, invalid: &Invalid) -> Self {
        DeadLetter { seq: event.seq, ..Self::from_json(event.id, event.ts_ms, invalid, event_json(schema, event)) }
    }

    /// The dead letter of input that never became an event (a JSON object that failed
    /// conversion); `raw` is kept as received.
    pub fn from_json(id: u64, ts_ms: i64, invalid: &Invalid, raw: Json) -> Self {
        DeadLetter {
            id,
            ts_ms,
            reason: invalid.reason.kind().to_string(),
            field: invalid.field.clone(),
            message: invalid.to_string(),
            raw,
            bytes: None,
            seq: id,
        }
    }

    /// The dead letter of bytes that did not decode into an event: `raw` is their text (lossy
    /// UTF-8), and the bytes themselves are kept.
    pub fn from_bytes(id: u64, ts_ms: i64, invalid: &Invalid, bytes: &[u8]) -> Self {
        let raw = Json::String(String::from_utf8_lossy(bytes).into_owned());
        DeadLetter { bytes: Some(bytes.to_vec()), ..Self::from_json(id, ts_ms, invalid, raw) }
    }

    /// The dead letter of an event the model could not predict.
    pub fn model_error(schema: &Schema, event: &Event, message: &str) -> Self {
        Self::new(schema, event, &Invalid::model_error(message))
    }

    /// The dead letter of a CSV row that could not become an event: `id` and `ts_ms` are
    /// the ones the event would have had, `raw` the row as CSV text, and the message
    /// carries the file line.
    pub fn from_csv(rejected: &Rejected) -> Self {
        DeadLetter {
            id: rejected.row,
            ts_ms: ts_ms(rejected.row),
            reason: rejected.invalid.reason.kind().to_string(),
            field: rejected.invalid.field.clone(),
            message: rejected.to_string(),
            raw: Json::String(rejected.raw.clone()),
            bytes: None,
            seq: rejected.row,
        }
    }

    /// The dead letter of bytes that are not JSON at all; `raw` is their text (lossy UTF-8).
    pub fn malformed(id: u64, ts_ms: i64, bytes: &[u8], error: &dyn std::fmt::Display) -> Self {
        let raw = Json::String(String::from_utf8_lossy(bytes).into_owned());
        Self::from_json(id, ts_ms, &Invalid::malformed(error.to_string()), raw)
    }
}

/// An event as a JSON object keyed by field name: missing values are null, and NaN/±inf
/// become the strings `"NaN"`, `"inf"`, `"-inf"`, since JSON has no such numbers (and
/// `event_from_json` reads those strings back as the same non-finite values).
/// Values beyond the schema's fields (a wrong-arity event) are kept under `"#<position>"`.
pub fn event_json(schema: &Schema, event: &Event) -> Json {
    let mut object = Map::new();
    for (i, value) in event.values.iter().enumerate() {
        let key = match schema.fields.get(i) {
            Some(field) => field.name.clone(),
            None => format!("#{i}"),
        };
        object.insert(key, value_json(value));
    }
    Json::Object(object)
}

fn value_json(value: &Value) -> Json {
    match value {
        Value::Missing => Json::Null,
        Value::Num(x) => match serde_json::Number::from_f64(*x) {
            Some(n) => Json::Number(n),
            None => Json::String(x.to_string()),
        },
        Value::Bool(b) => Json::Bool(*b),
        Value::Text(s) => Json::String(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::generator::Generator;
    use crate::data::validate::tests::main_schema;
    use crate::data::validate::{event_from_json, validate, InvalidReason};
    use proptest::prelude::*;
    use serde_json::json;

    fn bad_event() -> (Event, Invalid) {
        let schema = main_schema();
        let mut e = Generator::new(schema, 3).unwrap().event(5);
        e.values[0] = Value::Num(f64::NAN);
        e.values[1] = Value::Num(f64::INFINITY);
        e.values[2] = Value::Num(f64::NEG_INFINITY);
        e.values[5] = Value::Missing;
        let invalid = validate(schema, &e).unwrap_err();
        (e, invalid)
    }

    #[test]
    fn carries_the_reason_field_message_and_raw_event() {
        let (e, invalid) = bad_event();
        let letter = DeadLetter::new(main_schema(), &e, &invalid);
        assert_eq!((letter.id, letter.ts_ms), (e.id, e.ts_ms));
        assert_eq!(letter.reason, "not_finite");
        assert_eq!(letter.field.as_deref(), Some("Avg_Area_Income"));
        assert_eq!(letter.message, "field `Avg_Area_Income`: NaN is not a finite number");
        assert_eq!(letter.raw["Avg_Area_Income"], json!("NaN"));
        assert_eq!(letter.raw["Avg_Area_House_Age"], json!("inf"));
        assert_eq!(letter.raw["Avg_Area_Number_of_Rooms"], json!("-inf"));
        assert_eq!(letter.raw["Address"], Json::Null);
        assert_eq!(letter.raw["Avg_Area_Number_of_Bedrooms"], json!(e.values[3].as_f64().unwrap()));
        assert_eq!(letter.raw.as_object().unwrap().len(), main_schema().fields.len());
    }

    #[test]
    fn serializes_to_one_json_line() {
        let (e, invalid) = bad_event();
        let letter = DeadLetter::new(main_schema(), &e, &invalid);
        let line = serde_json::to_string(&letter).unwrap();
        assert!(!line.contains('\n'));
        let back: Json = serde_json::from_str(&line).unwrap();
        for key in ["id", "ts_ms", "reason", "field", "message", "raw"] {
            assert!(back.get(key).is_some(), "{key} in {line}");
        }
        // `seq` is not written: it only orders the windows of a running pipeline.
        assert_eq!(serde_json::from_str::<DeadLetter>(&line).unwrap(), DeadLetter { seq: 0, ..letter });
    }

    #[test]
    fn wrong_arity_keeps_every_value() {
        let schema = main_schema();
        let mut e = Generator::new(schema, 3).unwrap().event(0);
        e.values.push(Value::Text("surplus".into()));
        let invalid = validate(schema, &e).unwrap_err();
        let letter = DeadLetter::new(schema, &e, &invalid);
        assert_eq!((letter.reason.as_str(), letter.field.as_deref()), ("wrong_arity", None));
        assert_eq!(letter.raw[format!("#{}", schema.fields.len())], json!("surplus"));
    }

    #[test]
    fn from_json_and_malformed_keep_the_input() {
        let raw = json!({"Avg_Area_Income": [1]});
        let invalid = event_from_json(main_schema(), 4, 5, &raw).unwrap_err();
        let letter = DeadLetter::from_json(4, 5, &invalid, raw.clone());
        assert_eq!((letter.reason.as_str(), letter.raw), ("wrong_type", raw));

        let bytes = b"{\"Avg_Area_Income\": 1,";
        let error = serde_json::from_slice::<Json>(bytes).unwrap_err();
        let letter = DeadLetter::malformed(6, 7, bytes, &error);
        assert_eq!(letter.reason, "malformed");
        assert_eq!(letter.field, None);
        assert_eq!(letter.raw, json!("{\"Avg_Area_Income\": 1,"));
        assert!(letter.message.starts_with("malformed input: EOF"), "{}", letter.message);
        assert_eq!(DeadLetter::malformed(0, 0, &[0xff, b'a'], &"bad").raw, json!("\u{fffd}a"));
    }

    #[test]
    fn model_errors_become_dead_letters() {
        let (e, _) = bad_event();
        let letter = DeadLetter::new(main_schema(), &e, &Invalid::model_error("no trees"));
        assert_eq!(letter.reason, "model_error");
        assert_eq!(letter.message, "the model could not predict: no trees");
        assert_eq!(Invalid::model_error("x").reason, InvalidReason::Model { message: "x".into() });
    }

    #[test]
    fn csv_rejections_get_the_same_kinds_as_validation() {
        use crate::data::csv_source::{CsvReader, Row};
        use crate::program::{Field, FieldType};
        let field = |name: &str, ty, optional| Field { name: name.into(), ty, optional, range: None };
        let schema = Schema {
            name: "mixed".into(),
            fields: vec![
                field("price", FieldType::F64, false),
                field("rooms", FieldType::I64, false),
                field("pool", FieldType::Bool, false),
                field("kind", FieldType::Category(vec!["flat".into(), "house".into()]), false),
                field("address", FieldType::Str, true),
            ],
        };
        let text = "price,rooms,pool,kind,address\n\
                    1,2,yes,flat,a\n\
                    NaN,2,yes,flat,a\n\
                    -inf,2,yes,flat,a\n\
                    abc,2,yes,flat,a\n\
                    ,2,yes,flat,a\n\
                    1,2.5,yes,flat,a\n\
                    1,1e30,yes,flat,a\n\
                    1,2,maybe,flat,a\n\
                    1,2,yes,castle,a\n\
                    1,2,yes\n";
        let columns: Vec<(String, String)> = schema.fields.iter().map(|f| (f.name.clone(), f.name.clone())).collect();
        let mut reader = CsvReader::from_reader(text.as_bytes(), "test.csv", &schema, &columns, ',').unwrap();
        // What the reader cannot convert it rejects; the rest the validator checks, as for
        // every source: together they give the kinds JSON input gets.
        let mut letters = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            match row {
                Row::Rejected(r) => letters.push(DeadLetter::from_csv(&r)),
                Row::Event(e) => {
                    if let Err(invalid) = validate(&schema, &e) {
                        letters.push(DeadLetter::new(&schema, &e, &invalid));
                    }
                }
            }
        }
        let got: Vec<(u64, &str, Option<&str>)> =
            letters.iter().map(|l| (l.id, l.reason.as_str(), l.field.as_deref())).collect();
        assert_eq!(
            got,
            [
                (1, "not_finite", Some("price")),
                (2, "not_finite", Some("price")),
                (3, "wrong_type", Some("price")),
                (4, "missing", Some("price")),
                (5, "not_integer", Some("rooms")),
                (6, "out_of_range", Some("rooms")),
                (7, "wrong_type", Some("pool")),
                (8, "unknown_category", Some("kind")),
                (9, "malformed", None),
            ]
        );
        assert_eq!(letters[0].ts_ms, ts_ms(1));
        // A converted row is kept as its event; one that could not be converted as its CSV text.
        assert_eq!(letters[0].raw["price"], json!("NaN"));
        assert_eq!(letters[0].message, "field `price`: NaN is not a finite number");
        assert_eq!(letters[2].message, "line 5, field `price`: expected a number (f64), found \"abc\"");
        assert_eq!(letters[2].raw, json!("abc,2,yes,flat,a"));
    }

    proptest! {
        #[test]
        fn raw_reads_back_as_the_same_event(seed in any::<u64>(), index in 0u64..1_000_000) {
            let schema = main_schema();
            let e = Generator::new(schema, seed).unwrap().event(index);
            let raw = event_json(schema, &e);
            prop_assert_eq!(event_from_json(schema, e.id, e.ts_ms, &raw), Ok(e));
        }

        #[test]
        fn non_finite_values_read_back_as_not_finite(seed in any::<u64>(), field in 0usize..5, which in 0usize..3) {
            let schema = main_schema();
            let mut e = Generator::new(schema, seed).unwrap().event(0);
            let x = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY][which];
            e.values[field] = Value::Num(x);
            let raw = event_json(schema, &e);
            let invalid = event_from_json(schema, e.id, e.ts_ms, &raw).unwrap_err();
            prop_assert_eq!(invalid.field.as_deref(), Some(schema.fields[field].name.as_str()));
            prop_assert_eq!(invalid.reason.kind(), "not_finite");
        }
    }
}
