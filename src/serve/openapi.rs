//! `GET /openapi.json`: an OpenAPI 3.0 document of every route, the house schema taken
//! from the pipeline's [`Schema`].

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
    let invocation = json!({
        "type": "object",
        "description": "Exactly one of the keys. `instances` and list-form `inputs` take house objects only.",
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {
            "dataframe_split": {
                "type": "object",
                "required": ["columns", "data"],
                "properties": {
                    "columns": rows(json!({"type": "string"})),
                    "index": rows(json!({})),
                    "data": rows(rows(json!({}))),
                },
            },
            "dataframe_records": rows(reference("House")),
            "instances": rows(reference("House")),
            "inputs": {"oneOf": [
                rows(reference("House")),
                {"type": "object", "additionalProperties": rows(json!({}))},
            ]},
        },
        "additionalProperties": false,
    });
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
            "/invocations": {"post": post_operation(
                "MLflow scoring-server formats: dataframe_split, dataframe_records, instances, inputs.",
                invocation,
                json_response("One estimate per house, in order.", json!({
                    "type": "object",
                    "required": ["predictions"],
                    "properties": {"predictions": rows(json!({"type": "number"}))},
                })),
            )},
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
                "summary": "Readiness: a model is loaded.",
                "responses": {"200": json_response("Ready.", json!({
                    "type": "object",
                    "properties": {
                        "status": {"type": "string", "enum": ["ready"]},
                        "model": {"type": "string"},
                        "model_version": {"type": "integer"},
                    },
                }))},
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
