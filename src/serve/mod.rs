//! The HTTP API (axum): predictions on demand (also in the MLflow scoring format), the
//! stream's recent predictions, the registry, liveness and readiness, an OpenAPI document
//! and Prometheus metrics.
//!
//! Bad input policy: every rejected request gets a 4xx JSON error naming the field and
//! the problem (see [`ApiError`]); unknown fields are rejected, not ignored, so a typo such
//! as `Avg_Area_Incom` fails loudly instead of silently predicting without that value.
//! Bodies over the limit get 413 (`DefaultBodyLimit`); a request that takes longer than its
//! timeout gets 503 ([`with_deadline`]); slow and idle connections and connection caps are
//! the accept loop's ([`listener`]).

pub mod admission;
pub mod affinity;
mod error;
mod invocations;
pub mod listener;
mod metrics;
mod openapi;
mod parse;
#[cfg(test)]
mod tests;

pub use error::ApiError;
pub use metrics::HttpMetrics;
pub use openapi::openapi;

use crate::data::validate::{event_from_json, unknown_fields, validate};
use crate::data::Event;
use crate::engine::record::PredictionRecord;
use crate::engine::stats::Stats;
use crate::engine::store::PredictionStore;
use crate::model::serving::ModelHandle;
use crate::program::Schema;
use crate::registry::Registry;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::FromRequestParts;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The first id given to an HTTP prediction; stream ids count up from 0 and stay below.
pub const FIRST_HTTP_ID: u64 = 1 << 62;

/// The `limit` of `GET /predictions` when none is given.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest `limit` `GET /predictions` accepts.
pub const MAX_LIMIT: usize = 10_000;

/// What every handler shares.
pub struct AppState {
    /// The schema request bodies are validated against.
    pub schema: Schema,
    /// The model served; swapped atomically on promotion.
    pub handle: Arc<ModelHandle>,
    /// The stream's prediction store, when the pipeline keeps one in memory.
    pub store: Option<Arc<PredictionStore>>,
    /// The model registry, for `GET /models`.
    pub registry: Arc<dyn Registry>,
    /// The served model's registry name.
    pub model_name: String,
    /// The next id for an HTTP prediction (starts at [`FIRST_HTTP_ID`]).
    pub next_id: AtomicU64,
    /// The stream's run accounting, exported by `GET /metrics` when present.
    pub stats: Option<Arc<Stats>>,
    /// HTTP request counters and latencies, exported by `GET /metrics`.
    pub http: HttpMetrics,
    /// The stream's drift monitors, for `GET /drift` and `/metrics`.
    pub drift: Option<Arc<crate::drift::DriftBoard>>,
    /// The stream's worker threads, for `/metrics`.
    pub workers: Option<usize>,
    /// The run's SLOs after their latest evaluation, for `/metrics`.
    pub slos: Option<Arc<crate::engine::slo::SloBoard>>,
    /// Shed load and injected errors ([`admission`]).
    pub admission: Arc<admission::Admission>,
}

pub use crate::routes::ROUTES;

/// How long a request may take unless the file says otherwise (`serve http(timeout: ...)`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The router with every route, rejecting bodies over `body_limit` bytes with 413 and
/// answering requests that take longer than [`DEFAULT_TIMEOUT`] with 503.
pub fn app(state: Arc<AppState>, body_limit: usize) -> Router {
    app_with_timeout(state, body_limit, DEFAULT_TIMEOUT)
}

/// [`app`] with its own request timeout.
pub fn app_with_timeout(state: Arc<AppState>, body_limit: usize, timeout: Duration) -> Router {
    let mut router = Router::new();
    for &(method, path) in ROUTES {
        router = router.route(path, handler(method, path));
    }
    let router =
        router.fallback(no_route).method_not_allowed_fallback(wrong_method).layer(DefaultBodyLimit::max(body_limit));
    // One middleware both times and bounds each request: every layer costs a boxed clone of
    // the service behind it per request.
    let tracked = metrics::Tracked { state: state.clone(), timeout };
    router.layer(middleware::from_fn_with_state(tracked, metrics::track)).with_state(state)
}

/// Answers requests that take longer than `timeout` with 503 and a JSON error (as
/// [`app_with_timeout`] does, for a router of its own).
pub fn with_deadline<S: Clone + Send + Sync + 'static>(router: Router<S>, timeout: Duration) -> Router<S> {
    router.layer(middleware::from_fn(move |request: axum::extract::Request, next: middleware::Next| {
        within(timeout, next.run(request))
    }))
}

/// `response`, or a 503 JSON error if it takes longer than `timeout`.
async fn within(timeout: Duration, response: impl std::future::Future<Output = Response>) -> Response {
    match tokio::time::timeout(timeout, response).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms", timeout.as_millis()),
        )
        .into_response(),
    }
}

/// The handler of one entry of [`ROUTES`].
fn handler(method: &str, path: &str) -> MethodRouter<Arc<AppState>> {
    match (method, path) {
        ("POST", "/predict") => post(predict),
        ("POST", "/predict/batch") => post(predict_batch),
        ("POST", "/invocations") => post(invocations::invocations),
        ("GET", "/predictions") => get(predictions),
        ("GET", "/drift") => get(drift),
        ("GET", "/models") => get(models),
        ("GET", "/healthz") => get(healthz),
        ("GET", "/readyz") => get(readyz),
        ("GET", "/openapi.json") => get(openapi::openapi_json),
        ("GET", "/metrics") => get(metrics::metrics),
        ("GET", "/ping") | ("GET", "/health") => get(invocations::ping),
        ("GET", "/version") => get(invocations::version),
        _ => unreachable!("route {method} {path} has no handler"),
    }
}

/// One answer of `POST /predict`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The model's estimate.
    pub estimated_price: f64,
    /// The lowest and highest quantile estimates, when the model has quantile models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
    /// The registry version that answered.
    pub model_version: u32,
    /// The id given to this prediction.
    pub id: u64,
}

/// The request's `Content-Type`, taken without copying the other headers (a `HeaderMap`
/// extractor clones them all).
struct ContentType(Option<header::HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for ContentType {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ContentType(parts.headers.get(header::CONTENT_TYPE).cloned()))
    }
}

async fn predict(
    State(state): State<Arc<AppState>>,
    ContentType(content_type): ContentType,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Answer>, ApiError> {
    let json = json_body(content_type.as_ref(), body, parse::Shape::Item)?;
    let event = to_event(&state, &json)?;
    let model = state.handle.current();
    let p = model
        .predict_event(&event.values)
        .map_err(|e| ApiError::internal("model_error", format!("model `{}`: {e}", state.model_name)))?;
    Ok(Json(Answer { estimated_price: p.estimate, interval: p.interval, model_version: p.version, id: event.id }))
}

async fn predict_batch(
    State(state): State<Arc<AppState>>,
    ContentType(content_type): ContentType,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<Answer>>, ApiError> {
    let json = json_body(content_type.as_ref(), body, parse::Shape::Batch)?;
    let Value::Array(items) = json else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "wrong_type", "expected a JSON array of houses"));
    };
    let events = to_events(&state, &items)?;
    Ok(Json(answer(&state, &events)?))
}

/// Houses → validated events, all or nothing: every item is checked before any is predicted.
fn to_events(state: &AppState, items: &[Value]) -> Result<Vec<Event>, ApiError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            // Inside a batch a non-object is a bad item like any other, hence 422.
            to_event(state, item).map_err(|e| ApiError { status: StatusCode::UNPROCESSABLE_ENTITY, ..e }.at_index(i))
        })
        .collect()
}

/// Checks the content type, then reads and parses the body.
fn json_body(
    content_type: Option<&header::HeaderValue>,
    body: Result<Bytes, BytesRejection>,
    shape: parse::Shape,
) -> Result<Value, ApiError> {
    let content_type = content_type.map(|v| v.to_str().unwrap_or(""));
    if !content_type.is_some_and(is_json) {
        let found = match content_type {
            Some(t) => format!("`{t}`"),
            None => "none".into(),
        };
        let message = format!("expected `Content-Type: application/json`, found {found}");
        return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message));
    }
    parse::parse_body(&body?, shape)
}

/// `application/json` or `application/<something>+json`, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.strip_prefix("application/") {
        Some(sub) => sub == "json" || sub.ends_with("+json"),
        None => false,
    }
}

/// One house → a validated event, with a fresh id.
fn to_event(state: &AppState, json: &Value) -> Result<Event, ApiError> {
    if let Some(unknown) = unknown_fields(&state.schema, json).into_iter().next() {
        let mut message = format!("field `{unknown}` is not in schema `{}`", state.schema.name);
        if let Some(close) = closest_field(&state.schema, &unknown) {
            message.push_str(&format!("; did you mean `{close}`?"));
        }
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown_field", message).with_field(unknown));
    }
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let event = event_from_json(&state.schema, id, now_ms(), json).map_err(ApiError::invalid)?;
    validate(&state.schema, &event).map_err(ApiError::invalid)?;
    Ok(event)
}

/// The schema field a misspelt name most likely meant.
fn closest_field<'a>(schema: &'a Schema, name: &str) -> Option<&'a str> {
    schema
        .fields
        .iter()
        .map(|f| (strsim::jaro_winkler(&f.name.to_ascii_lowercase(), &name.to_ascii_lowercase()), f.name.as_str()))
        .filter(|&(score, _)| score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Predicts validated events with one snapshot of the model, so a batch sees one version.
fn answer(state: &AppState, events: &[Event]) -> Result<Vec<Answer>, ApiError> {
    let model = state.handle.current();
    let predictions = model
        .predict_events(events.iter().map(|e| e.values.as_slice()))
        .map_err(|e| ApiError::internal("model_error", format!("model `{}`: {e}", state.model_name)))?;
    Ok(events
        .iter()
        .zip(predictions)
        .map(|(e, p)| Answer { estimated_price: p.estimate, interval: p.interval, model_version: p.version, id: e.id })
        .collect())
}

/// The filters of `GET /predictions`.
#[derive(Debug, Deserialize)]
struct PredictionsQuery {
    limit: Option<usize>,
    /// Event time, milliseconds since the Unix epoch.
    since: Option<i64>,
    id: Option<u64>,
}

async fn predictions(
    State(state): State<Arc<AppState>>,
    query: Result<Query<PredictionsQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query?;
    let store = state.store.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "no_store", "the pipeline keeps no predictions in memory")
    })?;
    if let Some(id) = query.id {
        return match store.get(id) {
            Some(record) => Ok(Json(json!(record))),
            None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no kept prediction has id {id}"))
                .with_field("id")),
        };
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        let message = format!("limit {limit} is above the maximum of {MAX_LIMIT}");
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", message).with_field("limit"));
    }
    let records: Vec<PredictionRecord> = store.recent(limit, query.since);
    Ok(Json(json!(records)))
}

async fn models(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let registry = state.registry.clone();
    // Listing verifies every file's checksum: disk work, kept off the async workers.
    let listed = tokio::task::spawn_blocking(move || -> Result<Value, crate::registry::RegistryError> {
        let mut models = Vec::new();
        for summary in registry.list()? {
            let versions: Vec<Value> = registry
                .versions(&summary.name)?
                .into_iter()
                .map(|v| {
                    let status = match &v.status {
                        crate::registry::VersionStatus::Ok => json!("ok"),
                        crate::registry::VersionStatus::Corrupt { file, reason } => {
                            json!({"corrupt": {"file": file, "reason": reason}})
                        }
                    };
                    json!({
                        "version": v.version,
                        "created": v.created,
                        "metrics": v.metrics,
                        "pointers": v.pointers,
                        "status": status,
                    })
                })
                .collect();
            models.push(json!({
                "name": summary.name,
                "production": summary.production,
                "candidate": summary.candidate,
                "versions": versions,
            }));
        }
        Ok(json!(models))
    })
    .await
    .map_err(|e| ApiError::internal("registry_error", e))?
    .map_err(|e| ApiError::internal("registry_error", e))?;
    let serving = state.handle.current();
    Ok(Json(json!({
        "serving": {"name": state.model_name, "version": serving.version()},
        "models": listed,
    })))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready when a model is loaded (a handle always holds one) and the stream's source can be
/// read; a Kafka source whose broker does not answer makes it 503, naming the source. A
/// registry that does not answer leaves it 200 but `degraded`: the loaded version keeps serving,
/// and promotions are not seen until the registry answers again.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let model = state.handle.current();
    if let Some(why) = state.stats.as_ref().and_then(|s| s.source_down()) {
        let body = json!({"status": "unavailable", "reason": why, "model": state.model_name, "model_version": model.version()});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    if let Some(why) = state.stats.as_ref().and_then(|s| s.registry_down()) {
        let body =
            json!({"status": "degraded", "reason": why, "model": state.model_name, "model_version": model.version()});
        return Json(body).into_response();
    }
    Json(json!({"status": "ready", "model": state.model_name, "model_version": model.version()})).into_response()
}

/// `GET /drift`: every monitor's latest window, rule state and recent windows, and recent alerts.
async fn drift(State(state): State<Arc<AppState>>) -> Response {
    match &state.drift {
        Some(board) => Json(board.snapshot()).into_response(),
        None => Json(serde_json::json!({"drifts": [], "alerts": [], "alerts_total": 0})).into_response(),
    }
}

/// A known path with a method it does not take: 405 naming the methods it does.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let allowed: Vec<&str> = ROUTES.iter().filter(|(_, p)| *p == uri.path()).map(|(m, _)| *m).collect();
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}; use {}", uri.path(), allowed.join(" or ")),
    )
    .into_response();
    if let Ok(v) = header::HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, v);
    }
    response
}

async fn no_route() -> ApiError {
    let routes: Vec<String> = ROUTES.iter().map(|(method, path)| format!("{method} {path}")).collect();
    ApiError::new(StatusCode::NOT_FOUND, "no_route", format!("no such route; see {}", routes.join(", ")))
}
