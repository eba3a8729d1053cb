//! `GET /openapi.json`: an OpenAPI 3.0 document of every route, the house schema taken
//! from the pipeline's [`Schema`].

use super::invocations::FORMATS as FORMATS_REQUIRED;
use super::{AppState, DEFAULT_LIMIT, MAX_LIMIT};
use crate::program::{FieldType, Schema};
use axum::extract::State;
use axum::Json;
use serde_json::{json, Map, Value};
use std::sync::Arc;

pub(super) async fn openapi_json(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(openapi(&state.schema))
}

/// The JSON Schema of one house: field names, types, required fields and ranges.
pub fn house_schema(schema: &Schema) -> Value {
    let mut properties = Map::new();
    for field in &schema.fields {
        let mut property = match &field.ty {
            FieldType::F64 => json!({"type": "number"}),
            FieldType::I64 => json!({"type": "integer"}),
            FieldType::Str => json!({"type": "string"}),
            FieldType::Bool => json!({"type": "boolean"}),
            FieldType::Category(values) => json!({"type": "string", "enum": values}),
        };
        if let Some((lo, hi)) = field.range {
            property["minimum"] = json!(lo);
            property["maximum"] = json!(hi);
        }
        if matches!(field.ty, FieldType::F64 | FieldType::I64) {
            // What CSV exports and some clients send: accepted on purpose, so say so.
            property["description"] =
                json!("A number. A JSON string holding a number (\"79545.46\") is accepted too, with the same bounds.");
        }
        if field.optional {
            property["nullable"] = json!(true);
        }
        properties.insert(field.name.clone(), property);
    }
    let required: Vec<&str> = schema.fields.iter().filter(|f| !f.optional).map(|f| f.name.as_str()).collect();
    json!({
        "type": "object",
        "description": format!("One event of schema `{}`; unknown fields are rejected.", schema.name),
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A row of `/invocations`: a house whose columns outside the schema are ignored, as MLflow
/// ignores columns outside a model's signature.
fn scored_row_schema(schema: &Schema) -> Value {
    let mut row = house_schema(schema);
    row["additionalProperties"] = json!(true);
    row["description"] = json!(format!("One row of schema `{}`; other columns are ignored.", schema.name));
    row
}

/// A drift monitor's latest window: its bounds and every registered statistic (null when the
/// window has none), in OpenAPI 3.0's `nullable` form.
fn last_window() -> Value {
    let mut properties = Map::new();
    for key in ["index", "start", "end", "n"] {
        properties.insert(key.into(), json!({"type": "integer"}));
    }
    for s in crate::drift::statistics::ALL {
        properties.insert(s.key().into(), json!({"type": "number", "nullable": true}));
    }
    json!({"type": "object", "nullable": true, "properties": properties})
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error(description: &str) -> Value {
    json_response(description, reference("Error"))
}

fn mlflow_error(description: &str) -> Value {
    json_response(description, reference("MlflowError"))
}

/// The errors every POST route can answer besides its own.
fn body_errors() -> Value {
    json!({
        "400": error("Malformed JSON, or a body of the wrong shape."),
        "413": error("The body is over the size limit."),
        "415": error("The content type is not JSON."),
        "422": error("A house failed validation; `field` (and `index` in a batch) say where."),
        "500": error("The model failed; the cause is in the server log."),
    })
}

fn post_operation(summary: &str, request: Value, ok: Value) -> Value {
    let mut responses = body_errors();
    responses["200"] = ok;
    json!({
        "summary": summary,
        "requestBody": {"required": true, "content": {"application/json": {"schema": request}}},
        "responses": responses,
    })
}

/// The whole document.
pub fn openapi(schema: &Schema) -> Value {
    let rows = |items: Value| json!({"type": "array", "items": items});
    let some = |items: Value| json!({"type": "array", "items": items, "minItems": 1});
    let cell = json!({"nullable": true, "oneOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]});
    let invocation = json!({
        "type": "object",
        "description": "MLflow's scoring request: exactly one of `dataframe_split`, `dataframe_records`, \
            `instances`, `inputs`. Other keys, `params` among them, are ignored, as MLflow ignores them \
            for a model without parameters; so are columns the house schema does not have. \
            `instances` and list-form `inputs` take house objects only. A `dataframe_split` row must hold \
            one value per column, and the columns of object-form `inputs` must all have the same length \
            (neither is expressible here); otherwise the answer is 400.",
        "oneOf": FORMATS_REQUIRED.iter().map(|k| json!({"required": [k]})).collect::<Vec<_>>(),
        "properties": {
            "dataframe_split": {
                "type": "object",
                "required": ["columns", "data"],
                "properties": {
                    "columns": {"type": "array", "items": {"type": "string"}, "uniqueItems": true},
                    "index": rows(json!({})),
                    "data": some(rows(cell.clone())),
                },
            },
            "dataframe_records": some(reference("ScoredRow")),
            "instances": some(reference("ScoredRow")),
            "inputs": {"oneOf": [
                some(reference("ScoredRow")),
                {"type": "object", "minProperties": 1, "additionalProperties": some(cell)},
            ]},
            "params": {"type": "object", "nullable": true, "description": "Ignored: the model takes no parameters. Anything but an object or null is a 400."},
        },
    });
    let invocation_errors = json!({
        "400": mlflow_error("Not a scoring request (`BAD_REQUEST`: no format key or two, a format of the \
            wrong structure, no rows, malformed JSON or CSV), or a bad house (`INVALID_PARAMETER_VALUE`; \
            the message names its row and field)."),
        "413": mlflow_error("The body is over the size limit."),
        "415": mlflow_error("The content type is neither `application/json` nor `text/csv` (charset UTF-8)."),
        "500": mlflow_error("The model failed; the cause is in the server log."),
    });
    let mut invocation_responses = invocation_errors;
    invocation_responses["200"] = json_response(
        "One estimate per house, in order.",
        json!({
            "type": "object",
            "required": ["predictions"],
            "properties": {"predictions": rows(json!({"type": "number"}))},
        }),
    );
    let plain = |description: &str| json!({"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}});
    let record = json!({
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ts_ms": {"type": "integer"},
            "estimated_price": {"type": "number"},
        },
        "additionalProperties": true,
    });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "housing-flow",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "House price predictions on demand and from the stream, the model registry and metrics.",
        },
        "paths": {
            "/predict": {"post": post_operation(
                "Predicts the price of one house.",
                reference("House"),
                json_response("The estimate.", reference("Answer")),
            )},
            "/predict/batch": {"post": post_operation(
                "Predicts every house of a list, all or nothing, with one model version.",
                rows(reference("House")),
                json_response("One answer per house, in order.", rows(reference("Answer"))),
            )},
            "/invocations": {"post": {
                "summary": "MLflow's scoring protocol: dataframe_split, dataframe_records, instances, inputs, or CSV.",
                "requestBody": {"required": true, "content": {
                    "application/json": {"schema": invocation},
                    "text/csv": {"schema": {"type": "string", "description": "A header row naming the columns, \
                        then one house per row, as `pandas.DataFrame.to_csv` writes it; an empty cell is a missing value."}},
                }},
                "responses": invocation_responses,
            }},
            "/ping": {"get": {
                "summary": "MLflow's liveness check: 200 once a model is loaded.",
                "responses": {"200": plain("A newline.")},
            }},
            "/health": {"get": {
                "summary": "The same as `/ping`.",
                "responses": {"200": plain("A newline.")},
            }},
            "/version": {"get": {
                "summary": "The server's version, as MLflow's scoring server answers its own.",
                "responses": {"200": plain("The version, as plain text.")},
            }},
            "/predictions": {"get": {
                "summary": "Recent stream predictions, newest first, or one by id.",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {
                        "type": "integer", "minimum": 0, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT,
                    }},
                    {"name": "since", "in": "query", "description": "Event time, ms since the Unix epoch.",
                        "schema": {"type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX}},
                    {"name": "id", "in": "query",
                        "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": i64::MAX}},
                ],
                "responses": {
                    "200": json_response("A list of records, or one record when `id` is given.",
                        json!({"oneOf": [rows(record.clone()), record]})),
                    "400": error("A bad query parameter."),
                    "404": error("No such id, or the pipeline keeps no predictions in memory."),
                },
            }},
            "/drift": {"get": {
                "summary": "Drift monitors: each one's latest window (PSI, KS D and p-value), rule state, recent windows; recent alerts.",
                "responses": {
                    "200": json_response("The drift board.", json!({
                        "type": "object",
                        "required": ["drifts", "alerts", "alerts_total"],
                        "properties": {
                            "drifts": rows(json!({"type": "object", "properties": {
                                "name": {"type": "string"},
                                "target": {"type": "string"},
                                "window": {"type": "string"},
                                "windows": {"type": "integer"},
                                "late_events": {"type": "integer"},
                                "alerting": {"type": "boolean"},
                                "last": last_window(),
                                "rule_state": rows(json!({"type": "object"})),
                                "recent": rows(json!({"type": "object"})),
                            }})),
                            "alerts": rows(json!({"type": "object"})),
                            "alerts_total": {"type": "integer"},
                        },
                    })),
                },
            }},
            "/models": {"get": {
                "summary": "Registry models, versions, pointers and the version being served.",
                "responses": {
                    "200": json_response("The registry.", json!({
                        "type": "object",
                        "properties": {
                            "serving": {"type": "object", "properties": {
                                "name": {"type": "string"}, "version": {"type": "integer"},
                            }},
                            "models": rows(json!({"type": "object"})),
                        },
                    })),
                    "500": error("The registry could not be read."),
                },
            }},
            "/healthz": {"get": {
                "summary": "Liveness.",
                "responses": {"200": json_response("Alive.", json!({
                    "type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}},
                }))},
            }},
            "/readyz": {"get": {
                "summary": "Readiness: a model is loaded and the stream's source can be read.",
                "responses": {
                    "200": json_response("Ready.", json!({
                        "type": "object",
                        "properties": {
                            "status": {"type": "string", "enum": ["ready"]},
                            "model": {"type": "string"},
                            "model_version": {"type": "integer"},
                        },
                    })),
                    "503": json_response("The source cannot be read now (a Kafka broker that does not answer).", json!({
                        "type": "object",
                        "properties": {
                            "status": {"type": "string", "enum": ["unavailable"]},
                            "reason": {"type": "string"},
                            "model": {"type": "string"},
                            "model_version": {"type": "integer"},
                        },
                    })),
                },
            }},
            "/openapi.json": {"get": {
                "summary": "This document.",
                "responses": {"200": json_response("An OpenAPI 3.0 document.", json!({"type": "object"}))},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics: stream throughput and latency, dead letters, HTTP requests, model version.",
                "responses": {"200": {
                    "description": "Prometheus text exposition format 0.0.4.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }},
            }},
        },
        "components": {"schemas": {
            "House": house_schema(schema),
            "ScoredRow": scored_row_schema(schema),
            "Answer": {
                "type": "object",
                "required": ["estimated_price", "model_version", "id"],
                "properties": {
                    "estimated_price": {"type": "number"},
                    "interval": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                        "description": "The lowest and highest quantile estimates, when the model has them."},
                    "model_version": {"type": "integer"},
                    "id": {"type": "integer"},
                },
            },
            "MlflowError": {
                "type": "object",
                "required": ["error_code", "message"],
                "properties": {
                    "error_code": {"type": "string", "enum": [
                        "BAD_REQUEST", "INVALID_PARAMETER_VALUE", "RESOURCE_LIMIT_EXCEEDED", "INTERNAL_ERROR",
                    ]},
                    "message": {"type": "string"},
                },
            },
            "Error": {
                "type": "object",
                "required": ["error", "field", "kind"],
                "properties": {
                    "error": {"type": "string"},
                    "field": {"type": "string", "nullable": true},
                    "index": {"type": "integer"},
                    "kind": {"type": "string"},
                },
            },
        }},
    })
}
