//! `POST /invocations`: the MLflow scoring-server input formats, answered `{"predictions": [...]}`.
//!
//! The body is a JSON object with exactly one of these keys:
//! - `dataframe_split`: `{"columns": [...], "data": [[...], ...]}`; an `index` key is ignored;
//! - `dataframe_records`: a list of house objects;
//! - `instances`: a list of house objects. Rows given as lists of values are not accepted here:
//!   a house's fields are named, so positional rows belong in `dataframe_split`;
//! - `inputs`: an object of column → list of values (all lists the same length), or a list of
//!   house objects.
//!
//! Every house then goes through the validation of `POST /predict/batch`, so a bad house is a
//! 422 naming its index and field. A missing, unknown or doubled format key, or a format whose
//! structure is wrong (say `data` that is not a list), is a 400. Numbers beyond f64 (`1e400`)
//! are a 422 naming the field in the list-of-objects formats; in the column formats they are
//! reported as malformed JSON (400), since the parser does not track the column there.

use super::parse::Shape;
use super::{answer, json_body, to_events, ApiError, AppState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The accepted top-level keys, one of which a body must have.
pub const FORMATS: [&str; 4] = ["dataframe_split", "dataframe_records", "instances", "inputs"];

pub(super) async fn invocations(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let json = json_body(&headers, body, Shape::Invocation)?;
    let items = houses(json)?;
    let events = to_events(&state, &items)?;
    let predictions: Vec<f64> = answer(&state, &events)?.into_iter().map(|a| a.estimated_price).collect();
    Ok(Json(json!({ "predictions": predictions })))
}

fn accepted() -> String {
    FORMATS.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
}

fn unknown_format(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "unknown_format", format!("{message}; accepted: {}", accepted()))
}

fn bad_format(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_format", message)
}

/// An MLflow body → the houses it holds, as JSON values (validated later, item by item).
fn houses(json: Value) -> Result<Vec<Value>, ApiError> {
    let Value::Object(mut body) = json else {
        let message = format!("expected a JSON object with one of the keys {}", accepted());
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "wrong_type", message));
    };
    if let Some(key) = body.keys().find(|k| !FORMATS.contains(&k.as_str())) {
        return Err(unknown_format(format!("unknown input format `{key}`")));
    }
    let found: Vec<&str> = FORMATS.iter().copied().filter(|k| body.contains_key(*k)).collect();
    let key = match found.as_slice() {
        [one] => *one,
        [] => return Err(unknown_format("the body names no input format".into())),
        many => return Err(unknown_format(format!("the body names {} input formats; send one", many.len()))),
    };
    let value = body.remove(key).unwrap_or(Value::Null);
    match (key, value) {
        ("dataframe_split", value) => split(value),
        ("inputs", Value::Object(columns)) => columnar(columns),
        (_, Value::Array(items)) => Ok(items),
        (key, _) => Err(bad_format(format!("`{key}` must be a list of house objects"))),
    }
}

/// `{"columns": [...], "data": [[...], ...]}` → one object per row.
fn split(value: Value) -> Result<Vec<Value>, ApiError> {
    let Value::Object(mut split) = value else {
        return Err(bad_format("`dataframe_split` must be an object with `columns` and `data`"));
    };
    if let Some(key) = split.keys().find(|k| !["columns", "data", "index"].contains(&k.as_str())) {
        return Err(bad_format(format!("`dataframe_split` has an unknown key `{key}`; expected `columns` and `data`")));
    }
    let columns: Vec<String> = match split.remove("columns") {
        Some(Value::Array(columns)) => columns
            .into_iter()
            .map(|c| match c {
                Value::String(c) => Ok(c),
                other => Err(bad_format(format!("`dataframe_split.columns` must hold strings, found {other}"))),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad_format("`dataframe_split.columns` must be a list of column names")),
    };
    let mut seen = BTreeSet::new();
    if let Some(dup) = columns.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(bad_format(format!("`dataframe_split.columns` names `{dup}` twice")).with_field(dup.clone()));
    }
    let Some(Value::Array(rows)) = split.remove("data") else {
        return Err(bad_format("`dataframe_split.data` must be a list of rows"));
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| match row {
            Value::Array(values) if values.len() == columns.len() => {
                Ok(Value::Object(columns.iter().cloned().zip(values).collect()))
            }
            Value::Array(values) => {
                let message = format!("the row has {} values for {} columns", values.len(), columns.len());
                Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_length", message).at_index(i))
            }
            _ => {
                let message = "a row of `dataframe_split.data` must be a list of values";
                Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "wrong_type", message).at_index(i))
            }
        })
        .collect()
}

/// `{"column": [values...], ...}` → one object per position.
fn columnar(columns: Map<String, Value>) -> Result<Vec<Value>, ApiError> {
    let mut lists = Vec::with_capacity(columns.len());
    for (name, values) in columns {
        let Value::Array(values) = values else {
            let message = format!("`inputs.{name}` must be a list of values, one per house");
            return Err(bad_format(message).with_field(name));
        };
        lists.push((name, values));
    }
    let len = lists.first().map_or(0, |(_, v)| v.len());
    if let Some((name, values)) = lists.iter().find(|(_, v)| v.len() != len) {
        let message = format!("`inputs.{name}` has {} values, `inputs.{}` has {len}", values.len(), lists[0].0);
        return Err(bad_format(message).with_field(name.clone()));
    }
    let mut houses = vec![Map::new(); len];
    for (name, values) in lists {
        for (house, value) in houses.iter_mut().zip(values) {
            house.insert(name.clone(), value);
        }
    }
    Ok(houses.into_iter().map(Value::Object).collect())
}
