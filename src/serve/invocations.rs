//! The MLflow scoring-server protocol, as MLflow's own server speaks it: `POST /invocations`
//! answered `{"predictions": [...]}`, and `GET /ping`, `/health` and `/version`.
//!
//! `POST /invocations` takes `Content-Type: application/json` (parameter `charset=utf-8` at
//! most) or `text/csv` (a header row naming the columns, as `pandas.DataFrame.to_csv` writes;
//! an empty cell is a missing value). A JSON body is an object with exactly one of these keys:
//! - `dataframe_split`: `{"columns": [...], "data": [[...], ...]}`; other keys (`index`) are ignored;
//! - `dataframe_records`: a list of house objects;
//! - `instances`: a list of house objects. Rows given as lists of values are not accepted here:
//!   a house's fields are named, so positional rows belong in `dataframe_split`;
//! - `inputs`: an object of column → list of values (all lists the same length), or a list of
//!   house objects.
//!
//! As in MLflow, other top-level keys are ignored, among them `params` (which MLflow's clients
//! send; this model takes no parameters), and so are columns the schema does not have (a
//! pandas index written by `to_csv`, say). Every house then goes through the validation of
//! `POST /predict/batch`. Errors have MLflow's shape, `{"error_code", "message"}`, status 400:
//! `BAD_REQUEST` when the body is not a scoring request (no format key, two, a format of the
//! wrong structure, no rows, bad JSON or CSV), `INVALID_PARAMETER_VALUE` when a house is bad
//! (the message names its row and field). An unsupported content type is a 415.

use super::parse::Shape;
use super::{answer, to_events, ApiError, AppState};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Once};

/// The accepted top-level keys, one of which a body must have.
pub const FORMATS: [&str; 4] = ["dataframe_split", "dataframe_records", "instances", "inputs"];

/// A failed scoring request, answered in MLflow's error shape.
pub struct MlflowError(pub ApiError);

impl From<ApiError> for MlflowError {
    fn from(e: ApiError) -> Self {
        MlflowError(e)
    }
}

impl From<BytesRejection> for MlflowError {
    fn from(e: BytesRejection) -> Self {
        MlflowError(e.into())
    }
}

impl MlflowError {
    /// MLflow's status and `error_code` for this error.
    pub fn code(&self) -> (StatusCode, &'static str) {
        match self.0.status {
            StatusCode::UNPROCESSABLE_ENTITY => (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE"),
            s if s.is_server_error() => (s, "INTERNAL_ERROR"),
            s if s == StatusCode::PAYLOAD_TOO_LARGE => (s, "RESOURCE_LIMIT_EXCEEDED"),
            s => (s, "BAD_REQUEST"),
        }
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        (status, Json(json!({ "error_code": code, "message": self.0.message }))).into_response()
    }
}

pub(super) async fn invocations(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, MlflowError> {
    let items = match media_type(&headers)? {
        Media::Json => houses(super::parse::parse_body(&body?, Shape::Invocation)?)?,
        Media::Csv => csv_houses(&body?)?,
    };
    if items.is_empty() {
        return Err(bad_format("the request holds no rows to score").into());
    }
    let items: Vec<Value> = items.into_iter().map(|item| only_schema_fields(&state, item)).collect();
    let events = to_events(&state, &items)?;
    let predictions: Vec<f64> = answer(&state, &events)?.into_iter().map(|a| a.estimated_price).collect();
    Ok(Json(json!({ "predictions": predictions })))
}

/// `GET /ping` and `GET /health`: 200 with a newline once a model is loaded (always, here).
/// MLflow labels the newline `application/json`, which it is not; this says `text/plain`.
pub(super) async fn ping() -> &'static str {
    "\n"
}

/// `GET /version`: the server's version, as plain text.
pub(super) async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

enum Media {
    Json,
    Csv,
}

/// The body's media type, as MLflow reads it: `application/json` or `text/csv`, with at most
/// a `charset=utf-8` parameter.
fn media_type(headers: &HeaderMap) -> Result<Media, ApiError> {
    let unsupported =
        |message: String| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message);
    let Some(content_type) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("no `Content-Type`; send `application/json` or `text/csv`".into()));
    };
    let content_type = content_type.to_str().unwrap_or("");
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    for parameter in parts.filter(|p| !p.is_empty()) {
        let (key, value) = parameter.split_once('=').unwrap_or((parameter, ""));
        let value = value.trim_matches('"');
        if !key.trim().eq_ignore_ascii_case("charset") {
            return Err(unsupported(format!("unrecognized content type parameter `{}`", key.trim())));
        }
        if !value.eq_ignore_ascii_case("utf-8") {
            return Err(unsupported(format!("charset `{value}`: the scoring server only supports UTF-8")));
        }
    }
    match essence.as_str() {
        "text/csv" => Ok(Media::Csv),
        json if json == "application/json"
            || json.strip_prefix("application/").is_some_and(|s| s.ends_with("+json")) =>
        {
            Ok(Media::Json)
        }
        _ => Err(unsupported(format!("content type `{content_type}`; send `application/json` or `text/csv`"))),
    }
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

/// Drops the keys of a house object that are not schema fields, as MLflow ignores columns
/// outside a model's signature.
fn only_schema_fields(state: &AppState, item: Value) -> Value {
    match item {
        Value::Object(mut house) => {
            house.retain(|key, _| state.schema.field(key).is_some());
            Value::Object(house)
        }
        other => other,
    }
}

/// An MLflow JSON body → the houses it holds, as JSON values (validated later, item by item).
fn houses(json: Value) -> Result<Vec<Value>, ApiError> {
    let Value::Object(mut body) = json else {
        let message = format!("expected a JSON object with one of the keys {}", accepted());
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "wrong_type", message));
    };
    match body.get("params") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(other) => return Err(bad_format(format!("`params` must be an object of parameters, found {other}"))),
    }
    if body.get("params").and_then(Value::as_object).is_some_and(|p| !p.is_empty()) {
        static PARAMS: Once = Once::new();
        PARAMS.call_once(|| {
            tracing::warn!("/invocations: `params` were sent; this model takes no parameters, so they are ignored")
        });
    }
    let found: Vec<&str> = FORMATS.iter().copied().filter(|k| body.contains_key(*k)).collect();
    let key = match found.as_slice() {
        [one] => *one,
        [] => {
            let keys: Vec<String> = body.keys().map(|k| format!("`{k}`")).collect();
            let keys = if keys.is_empty() { "none".into() } else { keys.join(", ") };
            return Err(unknown_format(format!("the body names no input format (its keys: {keys})")));
        }
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

/// A CSV body with a header row → one object per row, its cells as strings (the validation
/// reads numbers and booleans from strings); an empty cell is left out, so it reads as missing.
fn csv_houses(bytes: &[u8]) -> Result<Vec<Value>, ApiError> {
    let malformed = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "malformed", message);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(bytes);
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(format!("the CSV header row: {e}")))?
        .iter()
        .map(|c| c.trim().to_string())
        .collect();
    let mut seen = BTreeSet::new();
    if let Some(dup) = columns.iter().find(|c| !c.is_empty() && !seen.insert(c.as_str())) {
        return Err(bad_format(format!("the CSV header names `{dup}` twice")).with_field(dup.clone()));
    }
    let mut houses = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| malformed(format!("CSV row {i}: {e}")))?;
        let house: Map<String, Value> = columns
            .iter()
            .zip(record.iter())
            .filter(|(_, cell)| !cell.is_empty())
            .map(|(column, cell)| (column.clone(), Value::String(cell.to_string())))
            .collect();
        houses.push(Value::Object(house));
    }
    Ok(houses)
}
