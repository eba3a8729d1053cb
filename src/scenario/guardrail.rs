//! The scenario's own guardrails, judged once a second on that second's metrics:
//! `guardrail shed(30%) when p99(http_latency) > 50ms for 2s`.
//!
//! A rule fires when its condition has held for its `for` (1 s unless given) and is re-armed
//! once the condition has failed as long. `alert` and `log` record a decision; `shed(x%)` has
//! the server answer 429 to that share of prediction requests until the rule re-arms (then the
//! shed is lifted, which is a decision too); `rollback` moves the registry's production alias
//! back and reloads the model; `abort` ends the run. Every decision keeps its time, its rule,
//! the values that triggered it and what was done.

use crate::program::{Action, Condition, Metric, ScenarioGuardrail};
use crate::serve::admission::Admission;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One decision of a guardrail.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Decision {
    /// Seconds since the start.
    pub t: f64,
    /// The rule as written: `shed(30%) when p99(http_latency) > 50`.
    pub rule: String,
    /// The metrics the condition read, at the time.
    pub values: BTreeMap<String, f64>,
    pub action: String,
    /// What happened, in words.
    pub outcome: String,
}

/// What a rollback does; returns what happened, in words.
pub type Rollback = Box<dyn Fn(&str) -> String + Send>;

#[derive(Default)]
struct State {
    held: u32,
    failed: u32,
    fired: bool,
}

/// Judges the rules and carries out their actions.
pub struct Commander {
    rules: Vec<(ScenarioGuardrail, State)>,
    admission: Arc<Admission>,
    rollback: Rollback,
    abort: Arc<AtomicBool>,
    pub decisions: Vec<Decision>,
}

impl Commander {
    pub fn new(
        rules: &[ScenarioGuardrail],
        admission: Arc<Admission>,
        rollback: Rollback,
        abort: Arc<AtomicBool>,
    ) -> Commander {
        Commander {
            rules: rules.iter().map(|r| (r.clone(), State::default())).collect(),
            admission,
            rollback,
            abort,
            decisions: Vec::new(),
        }
    }

    /// Judges every rule on one second's metrics; `t` is seconds since the start.
    pub fn tick(&mut self, t: f64, value: &dyn Fn(&Metric) -> Option<f64>) {
        for i in 0..self.rules.len() {
            let (rule, state) = &mut self.rules[i];
            if rule.condition.evaluate(value) == Some(true) {
                state.held += 1;
                state.failed = 0;
            } else {
                state.failed += 1;
                state.held = 0;
            }
            let hold = rule.hold_s.max(1);
            let fire = !state.fired && state.held >= hold;
            let rearm = state.fired && state.failed >= hold;
            if !fire && !rearm {
                continue;
            }
            state.fired = fire;
            let rule = rule.clone();
            let values =
                metrics(&rule.condition).into_iter().filter_map(|m| Some((m.to_string(), value(m)?))).collect();
            let outcome = if fire { self.act(&rule) } else { self.rearm(&rule) };
            let Some(outcome) = outcome else { continue };
            tracing::warn!("GUARDRAIL {:.0} s: `{}` → {outcome}", t, written(&rule));
            self.decisions.push(Decision { t, rule: written(&rule), values, action: rule.action.to_string(), outcome });
        }
    }

    fn act(&self, rule: &ScenarioGuardrail) -> Option<String> {
        Some(match &rule.action {
            Action::Alert => "alerted".into(),
            Action::Log => "logged".into(),
            Action::Shed { fraction } => {
                let now = self.admission.shedding().max(*fraction);
                self.admission.shed(now);
                format!("shedding {}% of prediction requests (429)", percent(now))
            }
            Action::Rollback => (self.rollback)(&written(rule)),
            Action::Abort => {
                self.abort.store(true, Ordering::Relaxed);
                "aborted the run".into()
            }
            Action::AbortCanary => "no canary to abort".into(),
        })
    }

    /// Lifts a shed whose rule re-armed, down to what other fired shed rules still ask for.
    fn rearm(&self, rule: &ScenarioGuardrail) -> Option<String> {
        let Action::Shed { .. } = rule.action else { return None };
        let still = self
            .rules
            .iter()
            .filter(|(_, s)| s.fired)
            .filter_map(|(r, _)| match r.action {
                Action::Shed { fraction } => Some(fraction),
                _ => None,
            })
            .fold(0.0, f64::max);
        self.admission.shed(still);
        Some(if still > 0.0 { format!("shedding lowered to {}%", percent(still)) } else { "stopped shedding".into() })
    }
}

fn percent(f: f64) -> String {
    let p = f * 100.0;
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
}

/// A rule as written.
pub fn written(rule: &ScenarioGuardrail) -> String {
    let mut s = format!("{} when {}", rule.action, rule.condition);
    if rule.hold_s > 1 {
        s += &format!(" for {}s", rule.hold_s);
    }
    s
}

/// The metrics a condition reads, in order.
fn metrics(c: &Condition) -> Vec<&Metric> {
    match c {
        Condition::Compare { metric, .. } => vec![metric],
        Condition::And { all: cs } | Condition::Or { any: cs } => cs.iter().flat_map(metrics).collect(),
        Condition::Not { condition } => metrics(condition),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::CmpOp;

    fn rule(action: Action, hold_s: u32) -> ScenarioGuardrail {
        let condition = Condition::Compare { metric: Metric::Throughput, op: CmpOp::Gt, value: 100.0 };
        ScenarioGuardrail { action, condition, hold_s }
    }

    #[test]
    fn shed_fires_after_its_hold_and_lifts_after_as_long() {
        let admission = Arc::new(Admission::new(1));
        let abort = Arc::new(AtomicBool::new(false));
        let rules = [rule(Action::Shed { fraction: 0.3 }, 2), rule(Action::Abort, 4)];
        let mut c = Commander::new(&rules, admission.clone(), Box::new(|_| "rolled back".into()), abort.clone());
        let mut at = |t: f64, throughput: f64| {
            c.tick(t, &|m| (*m == Metric::Throughput).then_some(throughput));
            (admission.shedding(), abort.load(Ordering::Relaxed))
        };
        assert_eq!(at(1.0, 150.0), (0.0, false), "one second is not two");
        assert_eq!(at(2.0, 150.0), (0.3, false));
        assert_eq!(at(3.0, 50.0), (0.3, false), "one good second does not lift it");
        assert_eq!(at(4.0, 50.0), (0.0, false));
        for t in 5..=8 {
            at(t as f64, 500.0);
        }
        assert!(abort.load(Ordering::Relaxed), "four seconds over fire the abort");
        let summary: Vec<(f64, &str, &str)> =
            c.decisions.iter().map(|d| (d.t, d.action.as_str(), d.outcome.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (2.0, "shed(30%)", "shedding 30% of prediction requests (429)"),
                (4.0, "shed(30%)", "stopped shedding"),
                (6.0, "shed(30%)", "shedding 30% of prediction requests (429)"),
                (8.0, "abort", "aborted the run"),
            ]
        );
        assert_eq!(c.decisions[0].values["throughput"], 150.0);
    }
}
