//! Admission: which requests the server refuses on purpose, before any handler runs.
//!
//! - **Shedding** (`shed(30%)`, a scenario guardrail's action): while on, that share of
//!   prediction requests (`/predict`, `/predict/batch`, `/invocations`) is answered `429` with
//!   `Retry-After: 1`.
//! - **Injected errors** (`fault error(route: "/predict", rate: 10%)`, a scenario fault): while
//!   the fault is active, that share of the route's requests is answered `503`.
//!
//! Which requests are refused is drawn from a seed and the request's number, so a run with the
//! same requests refuses the same ones. The request-tracking middleware asks [`Admission::refuse`]
//! first; with nothing on, that costs one atomic load.

use crate::draws;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Instant;

use super::error::ApiError;

/// Parts per million of a share.
const PPM: f64 = 1e6;

/// An injected error on one route over `[from_ms, until_ms)` of the clock started with [`Admission::start_clock`].
#[derive(Clone, Debug, PartialEq)]
pub struct InjectedErrors {
    pub route: String,
    pub fraction: f64,
    pub from_ms: u64,
    pub until_ms: u64,
}

/// What the gate refuses; shared by the server and whoever drives it.
#[derive(Debug, Default)]
pub struct Admission {
    /// Whether anything may be refused (the fast path reads only this).
    armed: AtomicBool,
    /// The share of prediction requests shed, in parts per million.
    shed_ppm: AtomicU32,
    errors: RwLock<(Option<Instant>, Vec<InjectedErrors>)>,
    seed: AtomicU64,
    requests: AtomicU64,
    /// Requests answered 429 by shedding.
    pub shed_total: AtomicU64,
    /// Requests answered 503 by an injected error.
    pub failed_total: AtomicU64,
}

/// Whether a path is a prediction route (the ones shedding applies to).
pub fn is_prediction(path: &str) -> bool {
    matches!(path, "/predict" | "/predict/batch" | "/invocations")
}

impl Admission {
    pub fn new(seed: u64) -> Admission {
        let a = Admission::default();
        a.seed.store(seed, Ordering::Relaxed);
        a
    }

    /// Sheds `fraction` of prediction requests from now on (0 stops shedding).
    pub fn shed(&self, fraction: f64) {
        self.shed_ppm.store((fraction.clamp(0.0, 1.0) * PPM) as u32, Ordering::Relaxed);
        self.rearm();
    }

    /// The share shed now.
    pub fn shedding(&self) -> f64 {
        self.shed_ppm.load(Ordering::Relaxed) as f64 / PPM
    }

    /// Injects `errors`, timed from `started`.
    pub fn inject(&self, started: Instant, errors: Vec<InjectedErrors>) {
        *self.errors.write().expect("admission lock") = (Some(started), errors);
        self.rearm();
    }

    fn rearm(&self) {
        let errors = !self.errors.read().expect("admission lock").1.is_empty();
        self.armed.store(errors || self.shed_ppm.load(Ordering::Relaxed) > 0, Ordering::Release);
    }

    /// What to answer instead of handling a request to `path`, if anything.
    pub fn refuse(&self, path: &str) -> Option<Refusal> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let seed = self.seed.load(Ordering::Relaxed);
        {
            let guard = self.errors.read().expect("admission lock");
            if let (Some(started), errors) = &*guard {
                let ms = started.elapsed().as_millis() as u64;
                let hit = errors.iter().any(|e| {
                    e.route == path && ms >= e.from_ms && ms < e.until_ms && draws::uniform(seed, n, 0, 11) < e.fraction
                });
                if hit {
                    self.failed_total.fetch_add(1, Ordering::Relaxed);
                    return Some(Refusal::Injected);
                }
            }
        }
        let shed = self.shed_ppm.load(Ordering::Relaxed);
        if shed > 0 && is_prediction(path) && draws::uniform(seed, n, 0, 12) * PPM < shed as f64 {
            self.shed_total.fetch_add(1, Ordering::Relaxed);
            return Some(Refusal::Shed);
        }
        None
    }
}

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Shed,
    Injected,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, kind, message) = match self {
            Refusal::Shed => (StatusCode::TOO_MANY_REQUESTS, "shed", "the server is shedding load; retry in a second"),
            Refusal::Injected => {
                (StatusCode::SERVICE_UNAVAILABLE, "injected_error", "an injected fault failed this request")
            }
        };
        let mut response = ApiError::new(status, kind, message).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_nothing_until_armed_then_its_share() {
        let a = Admission::new(3);
        assert!((0..1000).all(|_| a.refuse("/predict").is_none()));
        a.shed(0.3);
        let shed = (0..20_000).filter(|_| a.refuse("/predict") == Some(Refusal::Shed)).count();
        assert!((shed as f64 / 20_000.0 - 0.3).abs() < 0.02, "{shed}");
        assert!((0..1000).all(|_| a.refuse("/healthz").is_none()), "only prediction routes are shed");
        a.shed(0.0);
        assert!((0..1000).all(|_| a.refuse("/predict").is_none()));
        assert_eq!(a.shed_total.load(Ordering::Relaxed), shed as u64);
    }

    #[test]
    fn injected_errors_hit_their_route_in_their_time() {
        let a = Admission::new(5);
        let started = Instant::now() - std::time::Duration::from_secs(10);
        let window = |from_ms, until_ms| InjectedErrors { route: "/predict".into(), fraction: 0.5, from_ms, until_ms };
        a.inject(started, vec![window(20_000, 30_000)]);
        assert!((0..1000).all(|_| a.refuse("/predict").is_none()), "not yet active");
        a.inject(started, vec![window(0, 60_000)]);
        let failed = (0..20_000).filter(|_| a.refuse("/predict") == Some(Refusal::Injected)).count();
        assert!((failed as f64 / 20_000.0 - 0.5).abs() < 0.02, "{failed}");
        assert!((0..1000).all(|_| a.refuse("/predict/batch").is_none()), "other routes are untouched");
    }
}
