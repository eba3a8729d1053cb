//! The one error type every route answers with: JSON `{"error", "field", "kind"}` (plus
//! `"index"` for a batch item) and the status that says whose fault it was.

use crate::data::validate::{Invalid, InvalidReason};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// A failed request: its status, a message for people, the field at fault and a stable kind.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status answered.
    pub status: StatusCode,
    /// What went wrong, for people.
    pub message: String,
    /// The schema field (or query parameter) at fault, when there is one.
    pub field: Option<String>,
    /// The position of the bad item in a batch.
    pub index: Option<usize>,
    /// A stable snake_case name for clients and metrics.
    pub kind: &'static str,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    kind: &'a str,
}

impl ApiError {
    /// An error with no field.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, message: message.into(), field: None, index: None, kind }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Places the error at item `index` of a batch, which the message then starts with.
    pub fn at_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self.message = format!("item {index}: {}", self.message);
        self
    }

    /// A rejected event: 422, except input that is not even a JSON object (400).
    pub fn invalid(invalid: Invalid) -> Self {
        let status = match (&invalid.field, &invalid.reason) {
            (None, InvalidReason::Malformed { .. } | InvalidReason::WrongType { .. }) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError {
            status,
            message: invalid.to_string(),
            field: invalid.field.clone(),
            index: None,
            kind: invalid.reason.kind(),
        }
    }

    /// A server-side failure: the client gets a generic message, the log gets `cause`.
    pub fn internal(kind: &'static str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(kind, "request failed: {cause}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, kind, "internal error; the cause is in the server log")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.kind, self.message)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { error: &self.message, field: self.field.as_deref(), index: self.index, kind: self.kind };
        (self.status, Json(body)).into_response()
    }
}

impl From<BytesRejection> for ApiError {
    /// Keeps axum's status (413 for a body over `DefaultBodyLimit`, 400 for a broken stream).
    fn from(rejection: BytesRejection) -> Self {
        let status = rejection.status();
        let kind = if status == StatusCode::PAYLOAD_TOO_LARGE { "body_too_large" } else { "unreadable_body" };
        ApiError::new(status, kind, rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", rejection.body_text())
    }
}
