//! Rules over window statistics, with `for k windows` hysteresis: a rule *trips* on the window
//! that makes it hold for the k-th consecutive time, and can trip again only after a window in
//! which it did not hold. An empty window (no statistics) does not hold.

use super::counts::Statistics;
use crate::program::{DriftRule, Statistic};
use serde::Serialize;
use std::sync::Arc;

/// The statistic a rule or a guardrail reads from a window.
pub fn value_of(statistic: &Statistic, s: &Statistics) -> Option<f64> {
    s.named(&statistic.name)
}

/// Consecutive-window counting for one condition.
#[derive(Clone, Debug, Default)]
pub struct Hysteresis {
    run: u32,
}

impl Hysteresis {
    /// Feeds one window's verdict; true when this window trips the condition.
    pub fn step(&mut self, holds: bool, for_windows: u32) -> bool {
        if !holds {
            self.run = 0;
            return false;
        }
        self.run = self.run.saturating_add(1);
        self.run == for_windows.max(1)
    }

    /// Consecutive windows the condition has held so far.
    pub fn run(&self) -> u32 {
        self.run
    }
}

/// One drift rule and its hysteresis.
#[derive(Clone, Debug)]
pub struct RuleState {
    pub rule: DriftRule,
    hysteresis: Hysteresis,
    /// The rule as `/drift` describes it, written once: every window shares it.
    text: Arc<RuleText>,
}

/// A rule that tripped on a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Trip {
    pub value: f64,
}

impl RuleState {
    pub fn new(rule: DriftRule) -> Self {
        let text = Arc::new(RuleText {
            rule: rule.to_string(),
            statistic: rule.statistic.name.clone(),
            op: rule.op.symbol().into(),
            threshold: rule.threshold,
            for_windows: rule.for_windows,
            action: rule.action.to_string(),
        });
        RuleState { rule, hysteresis: Hysteresis::default(), text }
    }

    /// The rule as of the latest window checked.
    pub fn status(&self, s: &Statistics) -> RuleStatus {
        let value = value_of(&self.rule.statistic, s);
        RuleStatus {
            text: self.text.clone(),
            value,
            holds: value.is_some_and(|v| self.rule.op.holds(v, self.rule.threshold)),
            consecutive: self.hysteresis.run(),
        }
    }

    pub fn check(&mut self, s: &Statistics) -> Option<Trip> {
        let value = value_of(&self.rule.statistic, s);
        let holds = value.is_some_and(|v| self.rule.op.holds(v, self.rule.threshold));
        self.hysteresis.step(holds, self.rule.for_windows).then(|| Trip { value: value.unwrap_or(f64::NAN) })
    }
}

/// An alert: which rule tripped on which window, with the numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Alert {
    pub drift: String,
    pub target: String,
    /// The rule or guardrail, as written.
    pub rule: String,
    /// The window that tripped the rule.
    pub window: AlertWindow,
    /// `psi`, `ks` or `ks_p`; for a guardrail, its condition.
    pub statistic: String,
    pub op: String,
    pub threshold: f64,
    pub value: f64,
    pub for_windows: u32,
    pub action: String,
    /// What the action did (a rollback names the versions), or why it could not.
    pub outcome: String,
    /// Wall-clock time, milliseconds since the Unix epoch.
    pub at_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertWindow {
    pub index: u64,
    pub start: u64,
    pub end: u64,
    pub n: u64,
}

/// What a rule says, as `/drift` shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleText {
    pub rule: String,
    pub statistic: String,
    pub op: String,
    pub threshold: f64,
    pub for_windows: u32,
    pub action: String,
}

/// A rule (or guardrail) as of the latest window.
#[derive(Clone, Debug, Serialize)]
pub struct RuleStatus {
    #[serde(flatten)]
    pub text: Arc<RuleText>,
    pub value: Option<f64>,
    pub holds: bool,
    /// Consecutive windows it has held.
    pub consecutive: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::{Action, CmpOp};

    fn stats(psi: Option<f64>) -> Statistics {
        match psi {
            Some(v) => Statistics::with(100, &[("psi", v)]),
            None => Statistics::none(0),
        }
    }

    fn rule(statistic: Statistic, op: CmpOp, threshold: f64, for_windows: u32) -> RuleState {
        RuleState::new(DriftRule { statistic, op, threshold, for_windows, action: Action::Alert })
    }

    #[test]
    fn trips_on_the_kth_consecutive_window_and_rearms_after_a_break() {
        let mut r = rule(Statistic::new("psi", &[("bins", 10)]), CmpOp::Gt, 0.2, 3);
        let seq = [0.3, 0.3, 0.1, 0.3, 0.3, 0.3, 0.4, 0.5, 0.0, 0.3, 0.3, 0.3];
        let trips: Vec<usize> =
            seq.iter().enumerate().filter_map(|(i, &v)| r.check(&stats(Some(v))).map(|_| i)).collect();
        assert_eq!(trips, vec![5, 11]);
    }

    #[test]
    fn empty_windows_break_a_run() {
        let mut r = rule(Statistic::new("psi", &[("bins", 10)]), CmpOp::Gt, 0.2, 2);
        assert!(r.check(&stats(Some(0.5))).is_none());
        assert!(r.check(&stats(None)).is_none());
        assert!(r.check(&stats(Some(0.5))).is_none());
        assert_eq!(r.check(&stats(Some(0.5))), Some(Trip { value: 0.5 }));
    }

    #[test]
    fn ks_p_rules_trip_below_the_threshold() {
        let mut r = rule(Statistic::new("ks_p", &[("cells", 1000)]), CmpOp::Lt, 0.01, 1);
        let s = |p: f64| Statistics::with(10, &[("ks_d", 0.1), ("ks_p", p)]);
        assert!(r.check(&s(0.5)).is_none());
        assert!(r.check(&s(0.001)).is_some());
    }
}
