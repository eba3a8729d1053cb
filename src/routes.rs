//! The HTTP API's routes as (method, path): the server registers exactly these, the OpenAPI
//! document describes them, and a scenario's `error(route: ...)` fault must name one of them.

pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/predict"),
    ("POST", "/predict/batch"),
    ("POST", "/invocations"),
    ("GET", "/predictions"),
    ("GET", "/drift"),
    ("GET", "/models"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("GET", "/ping"),
    ("GET", "/health"),
    ("GET", "/version"),
];
