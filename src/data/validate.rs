//! Schema validation of events (per event, on the hot path) and JSON objects → events.
//!
//! [`validate`] allocates nothing when an event is valid; only a rejection builds strings.
//! [`event_from_json`] converts only (types, non-finite numbers): required fields, ranges
//! and categories are [`validate`]'s job, so every source goes through the same checks.

use super::invalid::{Excerpt, Number};
pub use super::invalid::{Invalid, InvalidReason};
use super::{Event, Value};
use crate::program::{Field, FieldType, Schema};
use serde_json::Value as Json;

/// Checks `event` against `schema`: arity, required fields, types, finiteness, whole
/// numbers for i64, inclusive ranges, declared categories. Reports the first problem.
pub fn validate(schema: &Schema, event: &Event) -> Result<(), Invalid> {
    if event.values.len() != schema.fields.len() {
        let (expected, found) = (schema.fields.len(), event.values.len());
        return Err(Invalid::event(InvalidReason::WrongArity { expected, found }));
    }
    for (field, value) in schema.fields.iter().zip(&event.values) {
        if let Err(reason) = check_value(field, value) {
            return Err(Invalid { field: Some(field.name.clone()), reason });
        }
    }
    Ok(())
}

#[inline]
fn check_value(field: &Field, value: &Value) -> Result<(), InvalidReason> {
    match (&field.ty, value) {
        (_, Value::Missing) if field.optional => Ok(()),
        (_, Value::Missing) => Err(InvalidReason::Missing),
        (FieldType::F64, Value::Num(x)) => check_number(*x, false, field.range),
        (FieldType::I64, Value::Num(x)) => check_number(*x, true, field.range),
        (FieldType::Bool, Value::Bool(_)) | (FieldType::Str, Value::Text(_)) => Ok(()),
        (FieldType::Category(declared), Value::Text(s)) => {
            if declared.iter().any(|d| d == s) {
                Ok(())
            } else {
                Err(InvalidReason::UnknownCategory { value: s.clone() })
            }
        }
        (ty, other) => Err(InvalidReason::WrongType { expected: type_name(ty), found: describe_value(other) }),
    }
}

/// The largest magnitude an i64 field accepts; beyond it `as i64` would saturate.
const I64_LIMIT: f64 = i64::MAX as f64;

#[inline]
fn check_number(x: f64, integer: bool, range: Option<(f64, f64)>) -> Result<(), InvalidReason> {
    if !x.is_finite() {
        return Err(InvalidReason::NotFinite { value: x });
    }
    if integer {
        if x.fract() != 0.0 {
            return Err(InvalidReason::NotInteger { value: x });
        }
        if x.abs() > I64_LIMIT {
            return Err(InvalidReason::OutOfRange { value: x, lo: -I64_LIMIT, hi: I64_LIMIT });
        }
    }
    match range {
        // Written as a negation so that NaN bounds reject rather than accept.
        Some((lo, hi)) if !(x >= lo && x <= hi) => Err(InvalidReason::OutOfRange { value: x, lo, hi }),
        _ => Ok(()),
    }
}

/// Maps a JSON object to an event by field name, in schema order. `null`, absent fields
/// and blank strings (except for `str` fields) become [`Value::Missing`]; numbers may be
/// given as strings; bools as `true/false`, `"yes"/"no"`, `"true"/"false"`, `1/0`.
/// Unknown fields are ignored here: see [`unknown_fields`].
pub fn event_from_json(schema: &Schema, id: u64, ts_ms: i64, json: &Json) -> Result<Event, Invalid> {
    let Some(object) = json.as_object() else {
        return Err(Invalid::event(InvalidReason::WrongType { expected: "a JSON object", found: describe_json(json) }));
    };
    let mut values = Vec::with_capacity(schema.fields.len());
    for field in &schema.fields {
        let value = match object.get(&field.name) {
            None => Value::Missing,
            Some(v) => {
                json_value(&field.ty, v).map_err(|reason| Invalid { field: Some(field.name.clone()), reason })?
            }
        };
        values.push(value);
    }
    Ok(Event { id, seq: id, ts_ms, values })
}

/// The keys of a JSON object that name no schema field, in the object's order; empty
/// for anything but an object. Whether they are an error is the caller's policy.
pub fn unknown_fields(schema: &Schema, json: &Json) -> Vec<String> {
    match json.as_object() {
        Some(object) => object.keys().filter(|k| schema.field(k).is_none()).cloned().collect(),
        None => Vec::new(),
    }
}

fn json_value(ty: &FieldType, json: &Json) -> Result<Value, InvalidReason> {
    let wrong = || InvalidReason::WrongType { expected: type_name(ty), found: describe_json(json) };
    match (ty, json) {
        (_, Json::Null) => Ok(Value::Missing),
        (FieldType::Str, Json::String(s)) => Ok(Value::Text(s.clone())),
        // A blank cell means "no value" in CSV; JSON producers that stringify do the same.
        (_, Json::String(s)) if s.trim().is_empty() => Ok(Value::Missing),
        (FieldType::F64 | FieldType::I64, Json::Number(n)) => n.as_f64().map(Value::Num).ok_or_else(wrong),
        (FieldType::F64 | FieldType::I64, Json::String(s)) => match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::Num(x)),
            Ok(x) => Err(InvalidReason::NotFinite { value: x }),
            Err(_) => Err(wrong()),
        },
        (FieldType::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (FieldType::Bool, Json::String(s)) => parse_bool(s.trim()).map(Value::Bool).ok_or_else(wrong),
        (FieldType::Bool, Json::Number(n)) => match n.as_f64() {
            Some(1.0) => Ok(Value::Bool(true)),
            Some(0.0) => Ok(Value::Bool(false)),
            _ => Err(wrong()),
        },
        (FieldType::Category(_), Json::String(s)) => Ok(Value::Text(s.clone())),
        _ => Err(wrong()),
    }
}

/// A bool as every reader spells it (CSV cells, JSON strings), case-insensitive:
/// `yes`/`no`, `true`/`false`, `1`/`0`.
pub fn parse_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 3] = ["yes", "true", "1"];
    const FALSE: [&str; 3] = ["no", "false", "0"];
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(true)
    } else if FALSE.iter().any(|t| t.eq_ignore_ascii_case(text)) {
        Some(false)
    } else {
        None
    }
}

/// The type a field expects, as error messages name it.
pub fn type_name(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::F64 => "a number (f64)",
        FieldType::I64 => "a whole number (i64)",
        FieldType::Str => "a string",
        FieldType::Bool => "a bool (true/false, yes/no, 1/0)",
        FieldType::Category(_) => "a category (string)",
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Missing => "no value".into(),
        Value::Num(x) => format!("the number {}", Number(*x)),
        Value::Bool(b) => format!("the bool {b}"),
        Value::Text(s) => format!("the string {:?}", Excerpt(s)),
    }
}

fn describe_json(json: &Json) -> String {
    match json {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("the bool {b}"),
        Json::Number(n) => format!("the number {n}"),
        Json::String(s) => format!("the string {:?}", Excerpt(s)),
        Json::Array(_) => "an array".into(),
        Json::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::generator::Generator;
    use proptest::prelude::*;
    use serde_json::json;
    use std::sync::OnceLock;

    /// The schema `pipelines/main.hf` validates against, as the plan carries it.
    pub(crate) fn main_schema() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/main.hf");
            let checked = crate::check::check_file(&path).expect("pipelines/main.hf is readable");
            let program = checked.program.expect("pipelines/main.hf checks");
            let plan = crate::plan::lower(&program, 1);
            plan.dataflows
                .iter()
                .flat_map(|d| &d.operators)
                .find_map(|op| match &op.kind {
                    crate::plan::OperatorKind::Validate { schema } => Some(schema.clone()),
                    _ => None,
                })
                .expect("the main pipeline validates its events")
        })
    }

    fn field(name: &str, ty: FieldType, optional: bool, range: Option<(f64, f64)>) -> Field {
        Field { name: name.into(), ty, optional, range }
    }

    /// One field of every type.
    fn mixed_schema() -> Schema {
        Schema {
            name: "mixed".into(),
            fields: vec![
                field("price", FieldType::F64, false, Some((0.0, 10_000_000.0))),
                field("rooms", FieldType::I64, false, Some((0.0, 100.0))),
                field("pool", FieldType::Bool, false, None),
                field("kind", FieldType::Category(vec!["flat".into(), "house".into()]), false, None),
                field("address", FieldType::Str, true, None),
            ],
        }
    }

    fn event(values: Vec<Value>) -> Event {
        Event { id: 1, seq: 1, ts_ms: 2, values }
    }

    fn good() -> Vec<Value> {
        vec![Value::Num(250_000.0), Value::Num(4.0), Value::Bool(true), Value::Text("flat".into()), Value::Missing]
    }

    fn reject(values: Vec<Value>) -> Invalid {
        validate(&mixed_schema(), &event(values)).expect_err("rejected")
    }

    fn with(index: usize, value: Value) -> Vec<Value> {
        let mut v = good();
        v[index] = value;
        v
    }

    #[test]
    fn accepts_a_valid_event_and_missing_optional_fields() {
        assert_eq!(validate(&mixed_schema(), &event(good())), Ok(()));
        assert_eq!(validate(&mixed_schema(), &event(with(4, Value::Text("1 Main St".into())))), Ok(()));
    }

    #[test]
    fn ranges_are_inclusive() {
        assert_eq!(validate(&mixed_schema(), &event(with(0, Value::Num(0.0)))), Ok(()));
        assert_eq!(validate(&mixed_schema(), &event(with(0, Value::Num(10_000_000.0)))), Ok(()));
        let invalid = reject(with(0, Value::Num(10_000_000.5)));
        assert_eq!(invalid.reason.kind(), "out_of_range");
        assert_eq!(invalid.field.as_deref(), Some("price"));
    }

    #[test]
    fn each_rule_has_its_reason() {
        let cases = [
            (with(1, Value::Missing), "rooms", "missing"),
            (with(0, Value::Num(f64::NAN)), "price", "not_finite"),
            (with(0, Value::Num(f64::INFINITY)), "price", "not_finite"),
            (with(0, Value::Num(f64::NEG_INFINITY)), "price", "not_finite"),
            (with(0, Value::Num(-1.0)), "price", "out_of_range"),
            (with(1, Value::Num(2.5)), "rooms", "not_integer"),
            (with(3, Value::Text("castle".into())), "kind", "unknown_category"),
            (with(2, Value::Num(1.0)), "pool", "wrong_type"),
            (with(0, Value::Bool(true)), "price", "wrong_type"),
            (with(0, Value::Text("12".into())), "price", "wrong_type"),
            (with(4, Value::Num(3.0)), "address", "wrong_type"),
            (with(3, Value::Num(3.0)), "kind", "wrong_type"),
        ];
        for (values, name, kind) in cases {
            let invalid = reject(values.clone());
            assert_eq!((invalid.field.as_deref(), invalid.reason.kind()), (Some(name), kind), "{values:?}: {invalid}");
        }
    }

    #[test]
    fn a_whole_number_beyond_i64_is_out_of_range() {
        let schema = Schema { name: "s".into(), fields: vec![field("n", FieldType::I64, false, None)] };
        let invalid = validate(&schema, &event(vec![Value::Num(1e20)])).unwrap_err();
        assert_eq!(invalid.reason.kind(), "out_of_range");
        assert_eq!(validate(&schema, &event(vec![Value::Num(-9e18)])), Ok(()));
    }

    #[test]
    fn wrong_arity_is_about_the_event() {
        let invalid = reject(good()[..3].to_vec());
        assert_eq!(invalid, Invalid::event(InvalidReason::WrongArity { expected: 5, found: 3 }));
        assert_eq!(invalid.to_string(), "expected 5 values, one per schema field, found 3");
    }

    #[test]
    fn messages_name_the_field_and_the_problem() {
        let schema = main_schema();
        let mut e = Generator::new(schema, 1).unwrap().event(0);
        e.values[0] = Value::Num(1e12);
        assert_eq!(
            validate(schema, &e).unwrap_err().to_string(),
            "field `Avg_Area_Income`: 1e12 is outside 0 .. 10000000"
        );
        assert_eq!(reject(with(1, Value::Missing)).to_string(), "field `rooms`: missing, but the field is required");
        assert_eq!(reject(with(0, Value::Num(f64::NAN))).to_string(), "field `price`: NaN is not a finite number");
        assert_eq!(reject(with(1, Value::Num(2.5))).to_string(), "field `rooms`: 2.5 is not a whole number");
        assert_eq!(
            reject(with(3, Value::Text("castle".into()))).to_string(),
            "field `kind`: \"castle\" is not one of the schema's categories"
        );
        assert_eq!(
            reject(with(2, Value::Num(1.0))).to_string(),
            "field `pool`: expected a bool (true/false, yes/no, 1/0), found the number 1"
        );
        let long = "x".repeat(500);
        assert!(reject(with(3, Value::Text(long))).to_string().len() < 150);
    }

    #[test]
    fn kinds_are_listed_and_distinct() {
        let reasons = [
            InvalidReason::Missing,
            InvalidReason::WrongType { expected: "", found: String::new() },
            InvalidReason::NotFinite { value: 0.0 },
            InvalidReason::OutOfRange { value: 0.0, lo: 0.0, hi: 0.0 },
            InvalidReason::NotInteger { value: 0.0 },
            InvalidReason::UnknownCategory { value: String::new() },
            InvalidReason::WrongArity { expected: 0, found: 0 },
            InvalidReason::Malformed { message: String::new() },
            InvalidReason::Model { message: String::new() },
        ];
        let kinds: Vec<&str> = reasons.iter().map(InvalidReason::kind).collect();
        assert_eq!(kinds, InvalidReason::KINDS);
        let unique: std::collections::BTreeSet<&str> = kinds.iter().copied().collect();
        assert_eq!(unique.len(), kinds.len());
        assert!(kinds.iter().all(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }

    #[test]
    fn json_maps_fields_by_name_in_schema_order() {
        let json =
            json!({"address": "1 Main St", "kind": "house", "pool": "yes", "rooms": 3, "price": 1.5e5, "extra": 1});
        let e = event_from_json(&mixed_schema(), 9, 10, &json).unwrap();
        assert_eq!((e.id, e.ts_ms), (9, 10));
        assert_eq!(
            e.values,
            [
                Value::Num(150_000.0),
                Value::Num(3.0),
                Value::Bool(true),
                Value::Text("house".into()),
                Value::Text("1 Main St".into())
            ]
        );
        assert_eq!(validate(&mixed_schema(), &e), Ok(()));
        assert_eq!(unknown_fields(&mixed_schema(), &json), ["extra"]);
    }

    #[test]
    fn the_seed_payload_converts_and_validates() {
        let json: Json = serde_json::from_str(
            r#"{
  "Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
  "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}"#,
        )
        .unwrap();
        let schema = main_schema();
        let e = event_from_json(schema, 0, 0, &json).unwrap();
        assert_eq!(validate(schema, &e), Ok(()));
        assert!(unknown_fields(schema, &json).is_empty());
        assert_eq!(e.values[schema.index_of("Price").unwrap()], Value::Missing);
    }

    #[test]
    fn json_null_absent_and_blank_are_missing() {
        let json = json!({"price": null, "pool": " ", "address": ""});
        let e = event_from_json(&mixed_schema(), 0, 0, &json).unwrap();
        assert_eq!(e.values[..4], [Value::Missing, Value::Missing, Value::Missing, Value::Missing]);
        // A `str` field keeps an empty string: JSON tells "" from absent.
        assert_eq!(e.values[4], Value::Text(String::new()));
        assert_eq!(validate(&mixed_schema(), &e).unwrap_err().reason, InvalidReason::Missing);
    }

    #[test]
    fn json_numbers_as_strings() {
        let convert = |v: Json| event_from_json(&mixed_schema(), 0, 0, &json!({ "price": v }));
        assert_eq!(convert(json!(" 65000 ")).unwrap().values[0], Value::Num(65000.0));
        assert_eq!(convert(json!("1e3")).unwrap().values[0], Value::Num(1000.0));
        for text in ["NaN", "nan", "inf", "-inf", "Infinity", "1e400", "-1e400"] {
            let invalid = convert(json!(text)).unwrap_err();
            assert_eq!((invalid.field.as_deref(), invalid.reason.kind()), (Some("price"), "not_finite"), "{text}");
        }
        let invalid = convert(json!("lots")).unwrap_err();
        assert_eq!(invalid.to_string(), "field `price`: expected a number (f64), found the string \"lots\"");
    }

    #[test]
    fn json_bools() {
        let convert =
            |v: Json| event_from_json(&mixed_schema(), 0, 0, &json!({ "pool": v })).map(|e| e.values[2].clone());
        for (v, b) in [
            (json!(true), true),
            (json!("yes"), true),
            (json!("YES"), true),
            (json!("true"), true),
            (json!(1), true),
            (json!("1"), true),
            (json!(false), false),
            (json!("no"), false),
            (json!("False"), false),
            (json!(0), false),
            (json!(0.0), false),
        ] {
            assert_eq!(convert(v.clone()), Ok(Value::Bool(b)), "{v}");
        }
        for v in [json!("maybe"), json!(2), json!([true]), json!({})] {
            assert_eq!(convert(v.clone()).unwrap_err().reason.kind(), "wrong_type", "{v}");
        }
    }

    #[test]
    fn json_wrong_types() {
        for (name, v) in [
            ("price", json!(true)),
            ("price", json!([1])),
            ("rooms", json!({"n": 1})),
            ("kind", json!(3)),
            ("address", json!(12)),
            ("address", json!(false)),
        ] {
            let invalid = event_from_json(&mixed_schema(), 0, 0, &json!({ name: v })).unwrap_err();
            assert_eq!((invalid.field.as_deref(), invalid.reason.kind()), (Some(name), "wrong_type"), "{name}: {v}");
        }
        for top in [json!([1, 2]), json!("x"), json!(null), json!(3)] {
            let invalid = event_from_json(&mixed_schema(), 0, 0, &top).unwrap_err();
            assert_eq!((invalid.field, invalid.reason.kind()), (None, "wrong_type"), "{top}");
            assert!(unknown_fields(&mixed_schema(), &top).is_empty());
        }
    }

    #[test]
    fn generated_events_validate() {
        let schema = main_schema();
        for e in Generator::new(schema, 42).unwrap().rows(5_000) {
            assert_eq!(validate(schema, &e), Ok(()), "{e:?}");
        }
    }

    /// Leaves that hit the interesting paths: field-like strings, non-finite spellings, bools.
    fn json_leaf() -> impl Strategy<Value = Json> {
        prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|x| serde_json::Number::from_f64(x).map_or(Json::Null, Json::Number)),
            (-1e8..1e8f64).prop_map(|x| json!(x)),
            prop::sample::select(vec![
                "NaN",
                "inf",
                "-inf",
                "1e400",
                "yes",
                "no",
                "TRUE",
                "0",
                "1",
                "",
                " ",
                "65000",
                "-3.5",
                "flat",
                "house",
                "1 Main St",
                "\u{0}",
                "é",
                "1_000",
                "0x10",
            ])
            .prop_map(|s| Json::String(s.into())),
            ".{0,12}".prop_map(Json::String),
        ]
    }

    fn any_json() -> impl Strategy<Value = Json> {
        json_leaf().prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..4).prop_map(|m| Json::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Mostly objects whose keys are the schema's fields, with some unknown keys mixed in.
    fn event_json(names: Vec<String>) -> impl Strategy<Value = Json> {
        let key = prop_oneof![3 => prop::sample::select(names), 1 => ".{0,8}"];
        prop_oneof![
            4 => prop::collection::btree_map(key, any_json(), 0..10).prop_map(|m| Json::Object(m.into_iter().collect())),
            1 => any_json(),
        ]
    }

    fn names(schema: &Schema) -> Vec<String> {
        schema.fields.iter().map(|f| f.name.clone()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_json_never_panics(json in event_json(names(main_schema())), mixed in event_json(names(&mixed_schema()))) {
            for (schema, json) in [(main_schema(), &json), (&mixed_schema(), &mixed)] {
                let unknown = unknown_fields(schema, json);
                prop_assert!(unknown.iter().all(|k| schema.field(k).is_none()));
                match event_from_json(schema, 1, 2, json) {
                    Ok(e) => {
                        prop_assert_eq!(e.values.len(), schema.fields.len());
                        match validate(schema, &e) {
                            Ok(()) => {}
                            Err(invalid) => {
                                prop_assert!(!invalid.to_string().is_empty());
                                if let Some(f) = &invalid.field {
                                    prop_assert!(schema.field(f).is_some());
                                }
                            }
                        }
                    }
                    Err(invalid) => {
                        prop_assert!(!invalid.to_string().is_empty());
                        prop_assert!(InvalidReason::KINDS.contains(&invalid.reason.kind()));
                    }
                }
            }
        }

        #[test]
        fn generated_events_always_validate(seed in any::<u64>(), start in 0u64..1_000_000) {
            let schema = main_schema();
            let generator = Generator::new(schema, seed).unwrap();
            for e in generator.events(start..start + 64) {
                prop_assert_eq!(validate(schema, &e), Ok(()), "{:?}", e);
            }
        }

        #[test]
        fn a_valid_event_with_one_bad_value_names_that_field(seed in any::<u64>(), index in 0usize..5, bad in 0usize..4) {
            // The first five fields of the main schema are required, ranged f64s.
            let schema = main_schema();
            let mut e = Generator::new(schema, seed).unwrap().event(0);
            let (value, kind) = [
                (Value::Missing, "missing"),
                (Value::Num(f64::NAN), "not_finite"),
                (Value::Num(-1.0), "out_of_range"),
                (Value::Text("1".into()), "wrong_type"),
            ][bad].clone();
            e.values[index] = value;
            let invalid = validate(schema, &e).unwrap_err();
            prop_assert_eq!(invalid.field.as_deref(), Some(schema.fields[index].name.as_str()));
            prop_assert_eq!(invalid.reason.kind(), kind);
        }
    }
}
