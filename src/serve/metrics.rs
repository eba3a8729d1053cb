//! `GET /metrics`: Prometheus text exposition format (0.0.4) of the stream's run accounting,
//! the HTTP requests served and the model version.

use super::listener::Refusal;
use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The upper bounds, in seconds, of the HTTP latency histogram's buckets.
pub const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The upper bounds, in seconds, of the stream latency histogram's buckets.
pub const STREAM_BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The route label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// One route's latency histogram: counts per bucket (not cumulative), total count and sum.
#[derive(Clone, Default)]
struct Latency {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

/// HTTP request counters by route and status, and latency histograms by route. Routes are
/// the `&'static str`s of [`super::ROUTES`] (or [`UNMATCHED`]): counting allocates nothing.
#[derive(Default)]
pub struct HttpMetrics {
    inner: Mutex<HttpCounts>,
    /// Open and refused connections, kept by the accept loop.
    pub connections: ConnectionCounts,
}

/// Open connections and those refused over a cap (see [`super::listener`]).
#[derive(Default)]
pub struct ConnectionCounts {
    /// Connections open now.
    pub open: AtomicU64,
    refused_full: AtomicU64,
    refused_client: AtomicU64,
}

impl ConnectionCounts {
    /// Counts one connection refused for `why`.
    pub fn refused(&self, why: Refusal) {
        let counter = match why {
            Refusal::Full => &self.refused_full,
            Refusal::Client => &self.refused_client,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Connections refused so far, by reason.
    pub fn refusals(&self) -> [(Refusal, u64); 2] {
        [
            (Refusal::Full, self.refused_full.load(Ordering::Relaxed)),
            (Refusal::Client, self.refused_client.load(Ordering::Relaxed)),
        ]
    }
}

#[derive(Clone, Default)]
struct HttpCounts {
    requests: BTreeMap<(&'static str, u16), u64>,
    latency: BTreeMap<&'static str, Latency>,
}

impl HttpMetrics {
    /// Counts one request of `route` answered with `status` after `elapsed`.
    pub fn record(&self, route: &'static str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *m.requests.entry((route, status)).or_default() += 1;
        let l = m.latency.entry(route).or_default();
        if let Some(i) = BUCKETS.iter().position(|&le| seconds <= le) {
            l.buckets[i] += 1;
        }
        l.count += 1;
        l.sum_seconds += seconds;
    }

    /// The number of requests of `route` answered with `status` so far.
    pub fn requests(&self, route: &str, status: u16) -> u64 {
        let m = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        m.requests.iter().filter(|((r, s), _)| *r == route && *s == status).map(|(_, n)| n).sum()
    }

    fn snapshot(&self) -> HttpCounts {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The route label of a matched path: its entry in [`super::ROUTES`].
fn route_label(path: Option<&str>) -> &'static str {
    path.and_then(|p| super::ROUTES.iter().find(|(_, r)| *r == p).map(|(_, r)| *r)).unwrap_or(UNMATCHED)
}

/// What [`track`] needs: the state it records into and the requests' timeout.
#[derive(Clone)]
pub(super) struct Tracked {
    pub state: Arc<AppState>,
    pub timeout: Duration,
}

/// Middleware: times every request and counts it by matched route and status, and answers
/// one that takes longer than its timeout with 503.
pub(super) async fn track(State(tracked): State<Tracked>, request: Request, next: Next) -> Response {
    let Tracked { state, timeout } = tracked;
    let route = route_label(request.extensions().get::<MatchedPath>().map(|p| p.as_str()));
    let start = Instant::now();
    // Shed load and injected errors are answered here, and counted like any answer.
    let response = match state.admission.refuse(request.uri().path()) {
        Some(refusal) => refusal.into_response(),
        None => super::within(timeout, next.run(request)).await,
    };
    let elapsed = start.elapsed();
    state.http.record(route, response.status().as_u16(), elapsed);
    if let Some(stats) = &state.stats {
        // For `p99(http_latency)` SLOs of the run.
        stats.record_http_latency(elapsed);
    }
    response
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], render(&state))
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value.replace('\\', r"\\").replace('"', r#"\""#).replace('\n', r"\n")
}

/// A sample value: Prometheus spells the non-finite ones `NaN`, `+Inf` and `-Inf`.
fn number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        x.to_string()
    }
}

/// Writes the `# HELP` and `# TYPE` lines of a family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Drift gauges and counters, one series per monitor.
/// Per SLO: its objective, its current value over the last window, whether it is violated.
fn slos(out: &mut String, statuses: &[crate::engine::slo::SloStatus]) {
    if statuses.is_empty() {
        return;
    }
    type Read = fn(&crate::engine::slo::SloStatus) -> Option<f64>;
    let gauges: [(&str, &str, Read); 3] = [
        ("housing_flow_slo_objective", "The bound an SLO sets on its metric.", |s| Some(s.objective)),
        ("housing_flow_slo_value", "The SLO's metric over the last window (latency in ms).", |s| s.value),
        ("housing_flow_slo_violated", "1 when the SLO is violated, 0 when met (absent while unknown).", |s| {
            s.violated.map(|v| if v { 1.0 } else { 0.0 })
        }),
    ];
    for (name, help, read) in gauges {
        family(out, name, "gauge", help);
        for s in statuses {
            if let Some(v) = read(s) {
                let _ = writeln!(
                    out,
                    "{name}{{slo=\"{}\",metric=\"{}\"}} {}",
                    escape(&s.slo),
                    escape(&s.metric),
                    number(v)
                );
            }
        }
    }
}

fn drift(out: &mut String, board: &crate::drift::BoardSnapshot) {
    // One gauge per registered statistic, as the statistic names it.
    for stat in crate::drift::statistics::ALL {
        let (name, help) = stat.gauge();
        family(out, name, "gauge", help);
        for d in &board.drifts {
            if let Some(v) = d.last.as_ref().and_then(|w| w.statistics.get(stat.key())) {
                let _ = writeln!(out, "{name}{{drift=\"{}\"}} {}", escape(&d.name), number(v));
            }
        }
    }
    let name = "housing_flow_drift_window_events";
    family(out, name, "gauge", "Values in the latest window.");
    for d in &board.drifts {
        if let Some(w) = &d.last {
            let _ = writeln!(out, "{name}{{drift=\"{}\"}} {}", escape(&d.name), w.statistics.n);
        }
    }
    family(out, "housing_flow_drift_windows_total", "counter", "Windows evaluated.");
    for d in &board.drifts {
        let _ = writeln!(out, "housing_flow_drift_windows_total{{drift=\"{}\"}} {}", escape(&d.name), d.windows);
    }
    family(out, "housing_flow_drift_late_events_total", "counter", "Values that arrived after their window closed.");
    for d in &board.drifts {
        let _ =
            writeln!(out, "housing_flow_drift_late_events_total{{drift=\"{}\"}} {}", escape(&d.name), d.late_events);
    }
    family(out, "housing_flow_drift_alerts_total", "counter", "Rules and guardrails tripped, by statistic and action.");
    for d in &board.drifts {
        for (key, n) in &d.alerts {
            let (statistic, action) = key.rsplit_once('/').unwrap_or((key.as_str(), ""));
            let _ = writeln!(
                out,
                "housing_flow_drift_alerts_total{{drift=\"{}\",statistic=\"{}\",action=\"{}\"}} {n}",
                escape(&d.name),
                escape(statistic),
                escape(action)
            );
        }
    }
}

/// The whole exposition: stream families only when the state has [`crate::engine::stats::Stats`].
pub fn render(state: &AppState) -> String {
    let mut out = String::new();
    if let Some(stats) = &state.stats {
        let (events_in, predictions, dead_letters) = stats.load();
        family(&mut out, "housing_flow_events_in_total", "counter", "Events read by the stream.");
        let _ = writeln!(out, "housing_flow_events_in_total {events_in}");
        family(
            &mut out,
            "housing_flow_predictions_total",
            "counter",
            "Predictions made by the stream, by model version.",
        );
        let mut by_version = stats.predictions_by_version();
        let counted: u64 = by_version.values().sum();
        if predictions > counted || by_version.is_empty() {
            // Counted before the version was known (or none yet): under the current version.
            *by_version.entry(state.handle.current().version()).or_default() += predictions - counted;
        }
        for (version, n) in by_version {
            let _ = writeln!(out, "housing_flow_predictions_total{{version=\"{version}\"}} {n}");
        }
        family(&mut out, "housing_flow_dead_letters_total", "counter", "Events rejected by the stream, by reason.");
        let mut reasons = stats.reasons();
        let counted: u64 = reasons.values().sum();
        if dead_letters > counted {
            *reasons.entry("unspecified".into()).or_default() += dead_letters - counted;
        }
        for (reason, n) in reasons {
            let _ = writeln!(out, "housing_flow_dead_letters_total{{reason=\"{}\"}} {n}", escape(&reason));
        }
        let latency = stats.latency();
        let name = "housing_flow_stream_latency_seconds";
        family(&mut out, name, "histogram", "Stream latency from event to prediction, in seconds.");
        // The HDR histogram (microseconds) read at each bucket bound.
        for le in STREAM_BUCKETS {
            let upto = (le * 1e6) as u64;
            let n = if latency.is_empty() { 0 } else { latency.count_between(0, upto) };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", latency.len());
        // The HDR histogram keeps no exact sum; its mean times its count is within its precision.
        let _ = writeln!(out, "{name}_sum {}", number(latency.mean() * latency.len() as f64 / 1e6));
        let _ = writeln!(out, "{name}_count {}", latency.len());
    }
    if let Some(workers) = state.workers {
        family(&mut out, "housing_flow_workers", "gauge", "Worker threads of the stream.");
        let _ = writeln!(out, "housing_flow_workers {workers}");
    }
    if let Some(board) = &state.drift {
        drift(&mut out, &board.snapshot());
    }
    if let Some(board) = &state.slos {
        slos(&mut out, &board.snapshot());
    }

    let HttpCounts { requests, latency } = state.http.snapshot();
    family(&mut out, "housing_flow_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for ((route, status), n) in requests {
        let route = escape(route);
        let _ = writeln!(out, "housing_flow_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}");
    }
    let name = "housing_flow_http_request_duration_seconds";
    family(&mut out, name, "histogram", "HTTP request latency by route, in seconds.");
    for (route, l) in latency {
        let route = escape(route);
        let mut cumulative = 0;
        for (le, n) in BUCKETS.iter().zip(l.buckets) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", l.count);
        let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", number(l.sum_seconds));
        let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {}", l.count);
    }

    if let Some(stats) = &state.stats {
        let name = "housing_flow_source_up";
        family(&mut out, name, "gauge", "1 while the stream's source can be read, 0 while its broker does not answer.");
        let _ = writeln!(out, "{name} {}", u8::from(stats.source_down().is_none()));
        let name = "housing_flow_registry_up";
        family(
            &mut out,
            name,
            "gauge",
            "1 while the model registry answers, 0 while it does not (the last loaded version keeps serving).",
        );
        let _ = writeln!(out, "{name} {}", u8::from(stats.registry_down().is_none()));
    }
    let name = "housing_flow_http_connections_open";
    family(&mut out, name, "gauge", "HTTP connections open now.");
    let _ = writeln!(out, "{name} {}", state.http.connections.open.load(Ordering::Relaxed));
    let name = "housing_flow_http_connections_refused_total";
    family(&mut out, name, "counter", "HTTP connections answered 503 and closed because a connection cap was reached.");
    for (why, n) in state.http.connections.refusals() {
        let _ = writeln!(out, "{name}{{limit=\"{}\"}} {n}", why.label());
    }

    let name = "housing_flow_http_shed_ratio";
    family(&mut out, name, "gauge", "The share of prediction requests answered 429 by load shedding now.");
    let _ = writeln!(out, "{name} {}", number(state.admission.shedding()));
    let name = "housing_flow_http_refused_total";
    family(&mut out, name, "counter", "HTTP requests refused on purpose: shed (429) or by an injected fault (503).");
    let _ = writeln!(out, "{name}{{reason=\"shed\"}} {}", state.admission.shed_total.load(Ordering::Relaxed));
    let _ =
        writeln!(out, "{name}{{reason=\"injected_error\"}} {}", state.admission.failed_total.load(Ordering::Relaxed));

    let version = state.handle.current().version();
    let name = "housing_flow_model_version_info";
    family(&mut out, name, "gauge", "The model version serving HTTP predictions (always 1).");
    let _ = writeln!(out, "{name}{{model=\"{}\",version=\"{version}\"}} 1", escape(&state.model_name));
    out
}
