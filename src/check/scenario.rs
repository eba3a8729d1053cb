//! `scenario NAME { ... }`: duration, seed, traffic, timed drift and faults, expectations.

use super::conditions::Context;
use super::drift::duration_in_words;
use super::values::{as_call, describe_expr};
use super::{Checker, Kind};
use crate::ast::{BinaryOp, Expr, ExprKind, Fault as AstFault, ScenarioDecl, ScenarioStmt, Span};
use crate::diagnostics::{did_you_mean, suggest_or_list, Code, Diagnostic};
use crate::program::{
    Action, Change, Event, Expectation, Fault, FieldTest, Pattern, Scenario, ScenarioGuardrail, Stage, TimedEvent,
    Traffic, TrafficTarget,
};

const PATTERNS: &[&str] = &["constant", "ramp", "burst", "soak"];
const CHANGES: &[&str] = &["shift", "scale", "noise", "replace"];
const FAULTS: &[&str] = &["latency", "drop", "cache", "kafka", "stall", "error"];
const STAGES: &[&str] = &["source", "validate", "features", "model", "sink", "http"];

impl Checker<'_> {
    pub(super) fn scenario(&mut self, s: &ScenarioDecl) {
        if self.program.sources.is_empty() && self.names_of(Kind::Source).is_empty() {
            self.error(
                Diagnostic::new(
                    Code::MissingDecl,
                    s.name.span,
                    format!("scenario `{}` has no pipeline to run", s.name.node),
                )
                .label("no source declared")
                .hint("add `use \"../pipelines/main.hf\"` inside the scenario"),
            );
        }
        let mut duration: Option<(u64, Span)> = None;
        let mut seed = None;
        let mut report = None;
        let mut traffic = Vec::new();
        let mut events = Vec::new();
        let mut expectations = Vec::new();
        let mut guardrails = Vec::new();
        let mut ok = true;
        // Durations first: event times are checked against them.
        for st in &s.stmts {
            if let ScenarioStmt::Duration(e) = st {
                if let Some((_, prev)) = duration {
                    self.error(
                        Diagnostic::new(Code::BadStatement, e.span, "`duration` is given twice")
                            .label("again")
                            .also(prev, "first"),
                    );
                    ok = false;
                } else if let Some(ms) = self.duration_ms(e, "`duration`") {
                    if ms == 0 {
                        self.error(
                            Diagnostic::new(Code::OutOfRange, e.span, "a scenario must last longer than 0s")
                                .label("zero"),
                        );
                        ok = false;
                    }
                    duration = Some((ms, e.span));
                } else {
                    ok = false;
                }
            }
        }
        if duration.is_none() && ok {
            self.error(
                Diagnostic::new(
                    Code::BadStatement,
                    s.name.span,
                    format!("scenario `{}` has no `duration`", s.name.node),
                )
                .label("how long does it run?")
                .hint("add `duration 60s`"),
            );
            ok = false;
        }
        let total = duration.map_or(u64::MAX, |(d, _)| d);
        let reads_kafka =
            self.program.sources.iter().any(|s| matches!(s.kind, crate::program::SourceKind::Kafka { .. }));
        let mut seen = std::collections::HashMap::new();
        for st in &s.stmts {
            let first = match st {
                ScenarioStmt::Seed(e) => self.once(&mut seen, "seed", e.span),
                ScenarioStmt::Report(p) => self.once(&mut seen, "report", p.span),
                _ => true,
            };
            if !first {
                ok = false;
                continue;
            }
            let done = match st {
                ScenarioStmt::Use(_) | ScenarioStmt::Duration(_) => Some(()),
                ScenarioStmt::Seed(e) => self.count(e, "`seed`", 0).map(|v| seed = Some(v)),
                ScenarioStmt::Report(p) => {
                    report = Some(self.file_relative(p.span.file, &p.node));
                    Some(())
                }
                ScenarioStmt::Traffic { target, patterns, .. } => {
                    let t = match target.node.as_str() {
                        "http" => Some(TrafficTarget::Http),
                        "stream" => Some(TrafficTarget::Stream),
                        other => {
                            self.error(
                                Diagnostic::new(Code::UnknownName, target.span, format!("no traffic target `{other}`"))
                                    .label("not a target")
                                    .hint(suggest_or_list(other, ["http", "stream"], "traffic targets")),
                            );
                            None
                        }
                    };
                    let ps: Vec<Option<Pattern>> = patterns.iter().map(|p| self.pattern(p)).collect();
                    // A pattern that runs to the end leaves the ones after `then` nothing to do.
                    let endless = ps.iter().zip(patterns).take(patterns.len().saturating_sub(1)).find(|(p, _)| {
                        matches!(
                            p,
                            Some(
                                Pattern::Constant { for_ms: None, .. }
                                    | Pattern::Soak { for_ms: None, .. }
                                    | Pattern::Burst { for_ms: None, .. }
                            )
                        )
                    });
                    if let Some((_, e)) = endless {
                        let end = if matches!(as_call(e), Some((c, _)) if c.node == "burst") { "until" } else { "for" };
                        self.error(
                            Diagnostic::new(
                                Code::BadStatement,
                                e.span,
                                "this pattern runs to the end, so the patterns after `then` never run",
                            )
                            .label("no end")
                            .hint(format!("give it an end: `{end}: 10s`")),
                        );
                        ok = false;
                        continue;
                    }
                    if t == Some(TrafficTarget::Http) && self.program.serve.is_none() {
                        self.error(
                            Diagnostic::new(Code::BadStatement, target.span, "the scenario's pipeline serves no HTTP")
                                .label("no server to send to")
                                .hint("add `serve http(port: 8000)` to the pipeline"),
                        );
                        ok = false;
                        continue;
                    }
                    match (t, ps.into_iter().collect::<Option<Vec<_>>>()) {
                        (Some(target), Some(patterns)) => {
                            traffic.push(Traffic { target, patterns });
                            Some(())
                        }
                        _ => None,
                    }
                }
                ScenarioStmt::DriftAt { at, field, change, condition, .. } => {
                    let at_ms = self.event_time(at, duration);
                    let field_ok = self.drift_field(field);
                    let change = self.change(change);
                    let when = match condition {
                        Some(c) => self.field_tests(c),
                        None => Some(Vec::new()),
                    };
                    match (at_ms, field_ok, change, when) {
                        (Some(at_ms), Some(()), Some(change), Some(when)) => {
                            events.push(TimedEvent {
                                at_ms,
                                for_ms: None,
                                event: Event::Drift { field: field.node.clone(), change, when },
                            });
                            Some(())
                        }
                        _ => None,
                    }
                }
                ScenarioStmt::FaultAt { at, fault, duration: d, .. } => {
                    let at_ms = self.event_time(at, duration);
                    let f = self.fault(fault);
                    match &f {
                        Some(
                            Fault::Latency { stage: Stage::Features | Stage::Model, .. }
                            | Fault::Drop { stage: Stage::Source, .. }
                            | Fault::Stall { .. }
                            | Fault::Error { .. },
                        )
                        | None => {}
                        Some(Fault::KafkaDown) if reads_kafka => {}
                        Some(Fault::Drop { .. }) if reads_kafka => self.not_available(
                            fault.span,
                            "the fault `drop(stage: source)` here",
                            "drops at the source act on generated events; this pipeline reads Kafka",
                        ),
                        Some(Fault::KafkaDown) => self.not_available(
                            fault.span,
                            "the fault `kafka down` here",
                            "`kafka down` freezes the broker of a pipeline that reads Kafka; this one does not",
                        ),
                        Some(other) => self.not_available(
                            fault.span,
                            &format!("the fault `{other}`"),
                            "`scenario` injects latency in the features or model stage, drops at the source, stalls workers, fails HTTP requests and takes a Kafka source's broker down",
                        ),
                    }
                    let for_ms = d.as_ref().map(|d| self.duration_ms(d, "a fault's duration"));
                    match (at_ms, f, for_ms) {
                        (Some(at_ms), Some(event), None) => {
                            events.push(TimedEvent { at_ms, for_ms: None, event: Event::Fault(event) });
                            Some(())
                        }
                        (Some(at_ms), Some(event), Some(Some(for_ms))) => {
                            events.push(TimedEvent { at_ms, for_ms: Some(for_ms), event: Event::Fault(event) });
                            Some(())
                        }
                        _ => None,
                    }
                }
                ScenarioStmt::Expect(x) => self.expectation(x, duration).map(|e| expectations.push(e)),
                ScenarioStmt::Guardrail { action, condition, hold, .. } => {
                    self.scenario_guardrail(action, condition, hold.as_ref()).map(|g| guardrails.push(g))
                }
            };
            ok &= done.is_some();
        }
        if ok {
            events.sort_by_key(|e| e.at_ms);
            self.program.scenarios.push(Scenario {
                name: s.name.node.clone(),
                duration_ms: total,
                seed: seed.unwrap_or(0),
                traffic,
                events,
                expectations,
                guardrails,
                report,
            });
        }
    }

    /// `guardrail ACTION when CONDITION (for D)?` inside a scenario.
    fn scenario_guardrail(
        &mut self,
        action: &crate::ast::Action,
        condition: &Expr,
        hold: Option<&Expr>,
    ) -> Option<ScenarioGuardrail> {
        let a = self.action_named(action);
        if let Some(Action::AbortCanary) = a {
            self.not_available(
                action.name.span,
                "the `abort_canary` action",
                "a scenario has no canary; `abort` ends its run",
            );
        }
        let c = self.condition(condition, Context::Scenario);
        let hold_s = match hold {
            None => Some(1),
            Some(h) => self.duration_ms(h, "a guardrail's `for`").and_then(|ms| {
                if ms < 1_000 || ms % 1_000 != 0 {
                    self.error(
                        Diagnostic::new(Code::OutOfRange, h.span, "a scenario's guardrail holds for whole seconds")
                            .label("judged once a second")
                            .hint("write `for 1s`, `for 3s`, ..."),
                    );
                    return None;
                }
                Some((ms / 1_000) as u32)
            }),
        };
        Some(ScenarioGuardrail { action: a?, condition: c?, hold_s: hold_s? })
    }

    /// `FIELD > 80k and FIELD2 <= 3` in a drift's `where`: comparisons of numeric fields with numbers.
    fn field_tests(&mut self, e: &Expr) -> Option<Vec<FieldTest>> {
        match &e.node {
            ExprKind::Binary { op: BinaryOp::And, lhs, rhs } => {
                let (a, b) = (self.field_tests(lhs), self.field_tests(rhs));
                let mut all = a?;
                all.extend(b?);
                Some(all)
            }
            ExprKind::Binary { op, lhs, rhs } if super::drift::cmp_op(*op).is_some() => {
                let Some(field) = super::values::as_name(lhs) else {
                    self.error(
                        Diagnostic::new(Code::TypeMismatch, lhs.span, "expected a field of the schema")
                            .label(format!("found {}", describe_expr(lhs))),
                    );
                    return None;
                };
                // Both are checked, so that both problems are reported at once.
                let (known, value) = (self.drift_field(&field), self.plain(rhs, "the value compared with"));
                known?;
                Some(vec![FieldTest { field: field.node, op: super::drift::cmp_op(*op)?, value: value? }])
            }
            _ => {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, e.span, "expected comparisons of fields joined by `and`")
                        .label(format!("found {}", describe_expr(e)))
                        .hint("for example `where Avg_Area_Income > 80k`"),
                );
                None
            }
        }
    }

    /// A time within the scenario, whose `duration` (and its span) is known unless missing.
    fn event_time(&mut self, at: &Expr, duration: Option<(u64, Span)>) -> Option<u64> {
        let ms = self.duration_ms(at, "an event time")?;
        if let Some((total, span)) = duration.filter(|(total, _)| ms > *total) {
            self.error(
                Diagnostic::new(Code::OutOfRange, at.span, "this event comes after the scenario ends")
                    .label(format!("at {}", duration_in_words(ms)))
                    .also(span, format!("the scenario lasts {}", duration_in_words(total))),
            );
            return None;
        }
        Some(ms)
    }

    /// A numeric field of some schema.
    fn drift_field(&mut self, field: &crate::ast::Ident) -> Option<()> {
        let found = self.program.schemas.iter().find_map(|s| s.field(&field.node).cloned());
        match found {
            Some(f) if f.ty.is_numeric() => Some(()),
            Some(f) => {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        field.span,
                        format!(
                            "only numeric fields drift; `{}` is {}",
                            field.node,
                            super::schema::type_in_words(&f.ty)
                        ),
                    )
                    .label("not numeric"),
                );
                None
            }
            None if self.fields_incomplete() => None,
            None => {
                let names: Vec<String> =
                    self.program.schemas.iter().flat_map(|s| s.fields.iter().map(|f| f.name.clone())).collect();
                self.error(
                    Diagnostic::new(Code::UnknownField, field.span, format!("no schema has a field `{}`", field.node))
                        .label("unknown field")
                        .maybe_hint(did_you_mean(&field.node, names.iter().map(String::as_str))),
                );
                None
            }
        }
    }

    fn pattern(&mut self, e: &Expr) -> Option<Pattern> {
        let Some((callee, args)) = as_call(e) else {
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    e.span,
                    "expected a traffic pattern: constant, ramp, burst or soak",
                )
                .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        match callee.node.as_str() {
            "constant" | "soak" => {
                let a = self.args(&callee, args, &["rate"], &["for"]);
                let rate = a.require(self, "rate").and_then(|r| self.rate(r, "the rate"));
                let for_ms = a.get("for").map(|f| self.duration_ms(f, "`for`"));
                let for_ms = match for_ms {
                    Some(f) => Some(f?),
                    None => None,
                };
                let rate = rate?;
                Some(if callee.node == "soak" {
                    Pattern::Soak { rate, for_ms }
                } else {
                    Pattern::Constant { rate, for_ms }
                })
            }
            "ramp" => {
                let a = self.args(&callee, args, &["rates"], &["over"]);
                let rates = a.require(self, "rates");
                let over = a.require(self, "over").and_then(|o| self.duration_ms(o, "`over`"));
                let (from, to) = match rates.map(|r| &r.node) {
                    Some(ExprKind::Binary { op: BinaryOp::Arrow, lhs, rhs }) => {
                        (self.rate(lhs, "the start rate"), self.rate(rhs, "the end rate"))
                    }
                    Some(_) => {
                        let r = rates?;
                        self.error(
                            Diagnostic::new(Code::TypeMismatch, r.span, "a ramp goes from one rate to another")
                                .label(format!("found {}", describe_expr(r)))
                                .hint("write `ramp(100/s -> 5000/s, over: 20s)`"),
                        );
                        (None, None)
                    }
                    None => (None, None),
                };
                Some(Pattern::Ramp { from: from?, to: to?, over_ms: over? })
            }
            "burst" => {
                let a = self.args(&callee, args, &[], &["base", "peak", "every", "for", "until"]);
                let base = a.require(self, "base").and_then(|x| self.rate(x, "`base`"));
                let peak = a.require(self, "peak").and_then(|x| self.rate(x, "`peak`"));
                let every = a.require(self, "every").and_then(|x| self.duration_ms(x, "`every`"));
                let burst = a.require(self, "for").and_then(|x| self.duration_ms(x, "`for`"));
                let until = a.get("until").map(|x| self.duration_ms(x, "`until`"));
                let (base, peak, every_ms, burst_ms) = (base?, peak?, every?, burst?);
                if burst_ms >= every_ms {
                    self.error(
                        Diagnostic::new(
                            Code::OutOfRange,
                            e.span,
                            "a burst must be shorter than the time between bursts",
                        )
                        .label(format!(
                            "bursts of {} every {}",
                            duration_in_words(burst_ms),
                            duration_in_words(every_ms)
                        )),
                    );
                    return None;
                }
                let for_ms = match until {
                    Some(u) => Some(u?),
                    None => None,
                };
                Some(Pattern::Burst { base, peak, every_ms, burst_ms, for_ms })
            }
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown traffic pattern `{other}`"))
                        .label("not a pattern")
                        .hint(suggest_or_list(other, PATTERNS.iter().copied(), "patterns")),
                );
                None
            }
        }
    }

    fn change(&mut self, e: &Expr) -> Option<Change> {
        let Some((callee, args)) = as_call(e) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "expected a change: shift, scale, noise or replace")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let a = self.args(&callee, args, &["by"], &[]);
        let by = a.require(self, "by");
        match callee.node.as_str() {
            "shift" | "noise" => {
                let (v, d) = self.number(by?)?;
                let relative = match d {
                    super::values::Dim::Plain => false,
                    super::values::Dim::Percent => true,
                    other => {
                        self.error(
                            Diagnostic::new(
                                Code::UnitMismatch,
                                by?.span,
                                format!("`{}` takes a number or a percentage, not {}", callee.node, other.describe()),
                            )
                            .label("wrong unit"),
                        );
                        return None;
                    }
                };
                Some(if callee.node == "shift" {
                    Change::Shift { by: v, relative }
                } else {
                    Change::Noise { std: v, relative }
                })
            }
            "scale" => {
                let factor = self.plain(by?, "the scale factor")?;
                Some(Change::Scale { factor })
            }
            "replace" => Some(Change::Replace { value: self.plain(by?, "the replacement")? }),
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown drift change `{other}`"))
                        .label("not a change")
                        .hint(suggest_or_list(other, CHANGES.iter().copied(), "changes")),
                );
                None
            }
        }
    }

    fn fault(&mut self, f: &AstFault) -> Option<Fault> {
        let kind = f.kind.node.as_str();
        let state_ok = |want: &str| f.state.as_ref().map(|s| s.node.as_str()) == Some(want);
        match kind {
            "latency" => {
                let a = self.args(&f.kind, &f.args, &[], &["stage", "delay", "p"]);
                let stage = a.require(self, "stage").and_then(|s| self.stage(s));
                let delay = a.require(self, "delay").and_then(|d| self.duration_ms(d, "`delay`"));
                let p = a.get("p").map_or(Some(1.0), |p| self.fraction(p, "`p`"));
                Some(Fault::Latency { stage: stage?, delay_ms: delay?, probability: p? })
            }
            "drop" => {
                let a = self.args(&f.kind, &f.args, &[], &["stage", "rate"]);
                let stage = a.get("stage").map_or(Some(Stage::Source), |s| self.stage(s));
                let rate = a.require(self, "rate").and_then(|r| self.fraction(r, "the drop rate"));
                Some(Fault::Drop { stage: stage?, fraction: rate? })
            }
            "cache" | "kafka" if state_ok("down") => {
                Some(if kind == "cache" { Fault::CacheDown } else { Fault::KafkaDown })
            }
            "cache" | "kafka" => {
                let found = match (&f.state, f.args.is_empty()) {
                    (Some(s), _) => format!("found `{}`", s.node),
                    (None, false) => "found arguments".to_string(),
                    (None, true) => "nothing after it".to_string(),
                };
                self.error(
                    Diagnostic::new(Code::TypeMismatch, f.span, format!("the `{kind}` fault is written `{kind} down`"))
                        .label(found)
                        .hint(format!("for example `at 30s fault {kind} down for 10s`")),
                );
                None
            }
            "stall" => {
                let a = self.args(&f.kind, &f.args, &["worker"], &[]);
                let w = a.get("worker").map_or(Some(0), |w| self.count(w, "the worker", 0))?;
                Some(Fault::Stall { worker: w as u32 })
            }
            "error" => {
                let a = self.args(&f.kind, &f.args, &[], &["route", "rate"]);
                let route = a.require(self, "route").and_then(|r| self.route(r));
                let rate = a.require(self, "rate").and_then(|r| self.fraction(r, "the error rate"));
                Some(Fault::Error { route: route?, fraction: rate? })
            }
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownFunction, f.kind.span, format!("unknown fault `{other}`"))
                        .label("not a fault")
                        .hint(did_you_mean(other, FAULTS.iter().copied()).unwrap_or_else(|| {
                            "faults: latency(...), drop(...), error(...), cache down, kafka down, stall(...)".into()
                        })),
                );
                None
            }
        }
    }

    /// An HTTP route the server has, as a string: `"/predict"`.
    fn route(&mut self, e: &Expr) -> Option<String> {
        let routes = || crate::routes::ROUTES.iter().map(|(_, p)| *p);
        let ExprKind::Str(path) = &e.node else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "expected a route as a string")
                    .label(format!("found {}", describe_expr(e)))
                    .hint("write `route: \"/predict\"`"),
            );
            return None;
        };
        if !routes().any(|r| r == path) {
            self.error(
                Diagnostic::new(Code::UnknownName, e.span, format!("the server has no route `{path}`"))
                    .label("not a route")
                    .hint(suggest_or_list(path, routes(), "routes")),
            );
            return None;
        }
        if self.program.serve.is_none() {
            self.error(
                Diagnostic::new(Code::BadStatement, e.span, "the scenario's pipeline serves no HTTP")
                    .label("no server to fail")
                    .hint("add `serve http(port: 8000)` to the pipeline"),
            );
            return None;
        }
        Some(path.clone())
    }

    fn stage(&mut self, e: &Expr) -> Option<Stage> {
        Some(match self.choice(e, "stage", STAGES)? {
            "source" => Stage::Source,
            "validate" => Stage::Validate,
            "features" => Stage::Features,
            "model" => Stage::Model,
            "sink" => Stage::Sink,
            _ => Stage::Http,
        })
    }

    fn expectation(&mut self, x: &crate::ast::Expectation, duration: Option<(u64, Span)>) -> Option<Expectation> {
        let rollback = super::values::as_name(&x.subject).is_some_and(|n| n.node == "rollback");
        let Some(det) = &x.detection else {
            if rollback {
                return Some(Expectation::RolledBack { within_ms: None, of_ms: None });
            }
            return Some(Expectation::Holds { condition: self.condition(&x.subject, Context::Expect)? });
        };
        if rollback == det.detected {
            let (message, hint) = if rollback {
                ("a rollback is not detected, it happens", "write `expect rollback within 20s of 10s`")
            } else {
                ("only a rollback is timed without `detected`", "write `expect drift(NAME) detected within 15s of 20s`")
            };
            self.error(Diagnostic::new(Code::BadStatement, det.span, message).label("here").hint(hint));
            return None;
        }
        let within = det.within.as_ref().map(|w| self.duration_ms(w, "`within`"));
        let of = det.of.as_ref().map(|o| self.event_time(o, duration));
        let within_ms = match within {
            Some(w) => Some(w?),
            None => None,
        };
        let of_ms = match of {
            Some(o) => Some(o?),
            None => None,
        };
        if rollback {
            return Some(Expectation::RolledBack { within_ms, of_ms });
        }
        let drift = match as_call(&x.subject) {
            Some((callee, args)) if callee.node == "drift" => {
                let a = self.args(&callee, args, &["name"], &[]);
                let n = a.require(self, "name")?;
                self.drift_ref(n)?
            }
            _ => {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        x.subject.span,
                        "only drift is detected: `drift(NAME) detected ...`",
                    )
                    .label(format!("found {}", describe_expr(&x.subject))),
                );
                return None;
            }
        };
        if det.negated {
            if det.within.is_some() {
                self.error(
                    Diagnostic::new(Code::BadStatement, det.span, "`not detected` takes no `within`")
                        .label("drop `within ...`"),
                );
                return None;
            }
            return Some(Expectation::NotDetected { drift });
        }
        Some(Expectation::Detected { drift, within_ms, of_ms })
    }
}
