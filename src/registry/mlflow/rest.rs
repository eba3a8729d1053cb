//! MLflow's REST API over blocking HTTP: JSON calls under `/api/2.0/mlflow/` and artifact
//! transfers through the tracking server's proxy, `/api/2.0/mlflow-artifacts/artifacts/`.

use serde_json::Value;
use std::time::Duration;

/// How long to wait for a connection, and for a whole call (artifacts included).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a call failed.
#[derive(Debug)]
pub enum CallError {
    /// No answer: refused, timed out, or not HTTP.
    Unreachable(String),
    /// The server answered with an error: MLflow's `error_code` (or the HTTP status) and message.
    Api { status: u16, code: String, message: String },
}

impl CallError {
    /// Whether MLflow said the thing asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, CallError::Api { code, status, .. } if code == "RESOURCE_DOES_NOT_EXIST" || *status == 404)
    }

    /// Whether MLflow said the thing to create exists already.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, CallError::Api { code, .. } if code == "RESOURCE_ALREADY_EXISTS")
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Unreachable(why) => write!(f, "{why}"),
            CallError::Api { status, code, message } => write!(f, "{code} (HTTP {status}): {message}"),
        }
    }
}

/// One tracking server.
#[derive(Clone, Debug)]
pub struct Rest {
    base: String,
    http: reqwest::blocking::Client,
}

impl Rest {
    /// A client for the server at `base` (`http://host:port`, no trailing slash); connects lazily.
    pub fn new(base: &str) -> Result<Rest, String> {
        let http = reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .user_agent(concat!("housing-flow/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Rest { base: base.trim_end_matches('/').to_string(), http })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /api/2.0/mlflow/{path}?query`.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, CallError> {
        let request = self.http.get(self.api(path)).query(query);
        json(self.send(request)?)
    }

    /// `POST /api/2.0/mlflow/{path}` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, CallError> {
        json(self.send(self.http.post(self.api(path)).json(body))?)
    }

    /// Uploads one artifact; `path` is relative to the server's artifact root (`1/<run>/artifacts/model/MLmodel`).
    pub fn put_artifact(&self, path: &str, bytes: Vec<u8>) -> Result<(), CallError> {
        self.send(self.http.put(self.artifact_url(path)).body(bytes)).map(drop)
    }

    /// Downloads one artifact.
    pub fn get_artifact(&self, path: &str) -> Result<Vec<u8>, CallError> {
        let response = self.send(self.http.get(self.artifact_url(path)))?;
        response.bytes().map(|b| b.to_vec()).map_err(|e| CallError::Unreachable(self.unreachable(&e)))
    }

    /// The files directly under an artifact folder: (name, is a folder).
    pub fn list_artifacts(&self, path: &str) -> Result<Vec<(String, bool)>, CallError> {
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts", self.base);
        let listed = json(self.send(self.http.get(url).query(&[("path", path)]))?)?;
        let files = listed["files"].as_array().cloned().unwrap_or_default();
        Ok(files
            .iter()
            .filter_map(|f| {
                let name = f["path"].as_str()?.rsplit('/').next()?.to_string();
                Some((name, f["is_dir"].as_bool().unwrap_or(false)))
            })
            .collect())
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/2.0/mlflow/{path}", self.base)
    }

    fn artifact_url(&self, path: &str) -> String {
        let encoded: Vec<String> = path.split('/').map(percent_encode).collect();
        format!("{}/api/2.0/mlflow-artifacts/artifacts/{}", self.base, encoded.join("/"))
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> Result<reqwest::blocking::Response, CallError> {
        let response = request.send().map_err(|e| CallError::Unreachable(self.unreachable(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().unwrap_or_default();
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let field = |k: &str| parsed.as_ref().and_then(|v| v[k].as_str()).map(str::to_string);
        Err(CallError::Api {
            status: status.as_u16(),
            code: field("error_code").unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string()),
            message: field("message").unwrap_or_else(|| text.chars().take(300).collect()),
        })
    }

    fn unreachable(&self, e: &reqwest::Error) -> String {
        let mut why = format!("no answer from the MLflow tracking server at {}", self.base);
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
        let mut last = e.to_string();
        while let Some(s) = source {
            last = s.to_string();
            source = s.source();
        }
        why.push_str(&format!(" ({last})"));
        why
    }
}

/// The JSON body of a successful answer; an empty body is `{}`.
fn json(response: reqwest::blocking::Response) -> Result<Value, CallError> {
    let bytes = response.bytes().map_err(|e| CallError::Unreachable(e.to_string()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| CallError::Unreachable(format!("the server answered something other than JSON: {e}")))
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass).
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(percent_encode("model.txt"), "model.txt");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
        assert_eq!(percent_encode("quantile_0.1.txt"), "quantile_0.1.txt");
    }
}
