//! The drift board: what every monitor has seen so far — the latest windows, counts of
//! windows, late values and alerts — shared by the workers that write it and the HTTP API,
//! the metrics, the progress line and the summary that read it.

use super::dataflow::WindowStats;
use super::rules::{Alert, RuleStatus};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// Windows kept per drift for `GET /drift`.
pub const RECENT_WINDOWS: usize = 120;
/// Alerts kept for `GET /drift`.
pub const RECENT_ALERTS: usize = 1000;

#[derive(Clone, Debug, Serialize)]
pub struct DriftStatus {
    pub name: String,
    pub target: String,
    pub window: String,
    pub categorical: bool,
    /// The rules, as written.
    pub rules: Vec<String>,
    /// Windows evaluated.
    pub windows: u64,
    /// Values that arrived after a window they belong to had closed.
    pub late_events: u64,
    pub last: Option<WindowStats>,
    pub max_psi: Option<f64>,
    pub max_ks_d: Option<f64>,
    /// Alerts by `statistic/action`.
    pub alerts: BTreeMap<String, u64>,
    /// Each rule on the latest window: its value, whether it holds, for how many windows in a row.
    pub rule_state: Vec<RuleStatus>,
    /// Whether any rule holds on the latest window.
    pub alerting: bool,
    pub recent: VecDeque<WindowStats>,
}

#[derive(Default)]
struct Inner {
    drifts: Vec<DriftStatus>,
    alerts: VecDeque<Alert>,
    alerts_total: u64,
}

#[derive(Default)]
pub struct DriftBoard {
    inner: Mutex<Inner>,
}

/// What the board holds at one moment.
#[derive(Clone, Debug, Serialize)]
pub struct BoardSnapshot {
    pub drifts: Vec<DriftStatus>,
    pub alerts: Vec<Alert>,
    pub alerts_total: u64,
}

impl DriftBoard {
    pub fn new(drifts: Vec<DriftStatus>) -> Self {
        DriftBoard { inner: Mutex::new(Inner { drifts, ..Default::default() }) }
    }

    /// A fresh status for a monitor.
    pub fn status(name: &str, target: &str, window: &str, categorical: bool, rules: Vec<String>) -> DriftStatus {
        DriftStatus {
            name: name.into(),
            target: target.into(),
            window: window.into(),
            categorical,
            rules,
            windows: 0,
            late_events: 0,
            last: None,
            max_psi: None,
            max_ks_d: None,
            alerts: BTreeMap::new(),
            rule_state: Vec::new(),
            alerting: false,
            recent: VecDeque::new(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn record_window(&self, drift: usize, w: &WindowStats) {
        self.with(|i| {
            let Some(d) = i.drifts.get_mut(drift) else { return };
            d.windows += 1;
            let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(x), Some(y)) => Some(x.max(y)),
                (x, y) => x.or(y),
            };
            d.max_psi = max(d.max_psi, w.statistics.psi());
            d.max_ks_d = max(d.max_ks_d, w.statistics.ks_d());
            d.last = Some(w.clone());
            if d.recent.len() == RECENT_WINDOWS {
                d.recent.pop_front();
            }
            d.recent.push_back(w.clone());
        })
    }

    pub fn set_rule_state(&self, drift: usize, state: Vec<RuleStatus>) {
        self.with(|i| {
            if let Some(d) = i.drifts.get_mut(drift) {
                d.alerting = state.iter().any(|r| r.holds);
                d.rule_state = state;
            }
        })
    }

    pub fn add_late(&self, drift: usize, n: u64) {
        if n > 0 {
            self.with(|i| {
                if let Some(d) = i.drifts.get_mut(drift) {
                    d.late_events += n;
                }
            })
        }
    }

    pub fn record_alert(&self, drift: Option<usize>, alert: Alert) {
        self.with(|i| {
            if let Some(d) = drift.and_then(|k| i.drifts.get_mut(k)) {
                *d.alerts.entry(format!("{}/{}", alert.statistic, alert.action)).or_default() += 1;
            }
            i.alerts_total += 1;
            if i.alerts.len() == RECENT_ALERTS {
                i.alerts.pop_front();
            }
            i.alerts.push_back(alert);
        })
    }

    /// The latest statistics of the drift named `name`.
    pub fn last(&self, name: &str) -> Option<WindowStats> {
        self.with(|i| i.drifts.iter().find(|d| d.name == name).and_then(|d| d.last.clone()))
    }

    pub fn snapshot(&self) -> BoardSnapshot {
        self.with(|i| BoardSnapshot {
            drifts: i.drifts.clone(),
            alerts: i.alerts.iter().cloned().collect(),
            alerts_total: i.alerts_total,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.with(|i| i.drifts.is_empty())
    }
}
