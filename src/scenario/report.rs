//! The scenario's reports: `report.json` (the scenario, seed, model version, every series per
//! second, every drift injected, every alert the monitors raised with its time, every
//! expectation with its measured value), `report.md` (the pass/fail table for CI logs) and
//! `report.html` (one self-contained page of inline SVG charts).

use super::ScenarioRun;
use crate::svg::{escape, frame, label, legend, line, vmark, Axes, COLORS};
use serde_json::{json, Value};
use std::path::Path;

/// The HTTP agent's seconds as JSON rows.
fn http_rows(run: &ScenarioRun) -> Vec<Value> {
    run.http.iter().enumerate().map(|(t, s)| s.row(t + 1)).collect()
}

/// Alerts with their time since the start.
fn alerts(run: &ScenarioRun) -> Vec<Value> {
    run.outcome
        .drift
        .as_ref()
        .map(|b| {
            b.alerts
                .iter()
                .map(|a| {
                    json!({
                        "t": a.at_ms.saturating_sub(run.started_ms) as f64 / 1e3,
                        "window": a.window.index, "window_end": a.window.end,
                        "drift": a.drift, "rule": a.rule, "statistic": a.statistic, "value": a.value,
                        "threshold": a.threshold, "action": a.action, "outcome": a.outcome,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn report_json(run: &ScenarioRun) -> Value {
    let o = &run.outcome;
    json!({
        "scenario": run.scenario,
        "seed": run.scenario.seed,
        "housing_flow_version": env!("CARGO_PKG_VERSION"),
        "model": run.model,
        "model_version": o.model_version,
        "passed": run.passed(),
        "expectations": run.judged,
        "summary": {
            "seconds": o.seconds, "events_in": o.events_in, "predictions": o.predictions,
            "dead_letters": o.dead_letters,
            "dropped_by_fault": o.dropped_by_fault,
            "lost_events": o.events_in as i64 - o.predictions as i64 - o.dead_letters as i64 - o.dropped_by_fault as i64,
            "http_sent": run.http.iter().map(|s| s.sent).sum::<u64>(),
            "http_dropped": run.http.iter().map(|s| s.dropped).sum::<u64>(),
            "http_errors": run.http.iter().map(|s| s.errors).sum::<u64>(),
            "http_shed": run.http.iter().map(|s| s.shed).sum::<u64>(),
            "http_rate_held": run.http_rate_held().map(|(rate, second)| json!({
                "requests_per_second": rate, "second": second, "p99_objective_ms": run.http_objective_ms(),
            })),
            "kafka_produced": run.produced.map(|p| p.0),
            "kafka_refused": run.produced.map(|p| p.1),
            "online_mae": run.labelled.mae(),
            "interval_coverage": run.labelled.coverage(),
        },
        "injected": run.injector.injections.iter().map(|i| json!({
            "field": i.name, "change": i.change, "written": i.described, "concept": i.concept,
            "from_s": i.from_ms as f64 / 1e3,
            "until_s": (i.until_ms != u64::MAX).then(|| i.until_ms as f64 / 1e3),
        })).collect::<Vec<_>>(),
        "faults": run.faults.faults.iter().map(|f| json!({
            "fault": f.fault, "from_s": f.from_ms as f64 / 1e3,
            "until_s": (f.until_ms != u64::MAX).then(|| f.until_ms as f64 / 1e3),
        })).collect::<Vec<_>>(),
        "alerts": alerts(run),
        "decisions": run.decisions,
        "aborted": run.aborted(),
        "series": { "stream": run.stream, "http": http_rows(run) },
    })
}

pub fn markdown(run: &ScenarioRun) -> String {
    let o = &run.outcome;
    let mut out = format!(
        "# Scenario `{}`: {}\n\n{:.1} s, seed {}, model {} v{}; {} events in, {} predictions, {} dead letters; {} HTTP requests sent, {} dropped, {} errors.\n\n| expectation | measured | result |\n|---|---|---|\n",
        run.scenario.name,
        if run.passed() { "passed" } else { "FAILED" },
        o.seconds,
        run.scenario.seed,
        run.model,
        o.model_version,
        o.events_in,
        o.predictions,
        o.dead_letters,
        run.http.iter().map(|s| s.sent).sum::<u64>(),
        run.http.iter().map(|s| s.dropped).sum::<u64>(),
        run.http.iter().map(|s| s.errors).sum::<u64>(),
    );
    for j in &run.judged {
        out += &format!("| `{}` | {} | {} |\n", j.expectation, j.measured, if j.passed { "pass" } else { "FAIL" });
    }
    if let Some(d) = run.aborted() {
        out += &format!("\n**Aborted** at {:.0} s by `{}`.\n", d.t, d.rule);
    }
    if !run.decisions.is_empty() {
        out += "\n| s | guardrail | values | outcome |\n|---|---|---|---|\n";
        for d in &run.decisions {
            out += &format!("| {:.0} | `{}` | {} | {} |\n", d.t, d.rule, values(&d.values), d.outcome);
        }
    }
    out
}

/// `p99(http_latency) = 61.2, throughput = 5000`.
fn values(v: &std::collections::BTreeMap<String, f64>) -> String {
    v.iter().map(|(k, x)| format!("{k} = {x:.4}")).collect::<Vec<_>>().join(", ")
}

/// A time chart: series of (t, value) with the drift marks.
fn chart(
    body: &mut String,
    run: &ScenarioRun,
    id: &str,
    title: &str,
    y_name: &str,
    series: &[(String, Vec<(f64, f64)>)],
) {
    let end = run.scenario.duration_ms as f64 / 1e3;
    let a = Axes::new(
        series.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)).chain([0.0, end]),
        series.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).chain([0.0]),
    );
    frame(body, id, title, &a, "seconds", y_name, &label);
    for inj in &run.injector.injections {
        let what = if inj.concept { "concept" } else { "drift" };
        vmark(body, &a, inj.from_ms as f64 / 1e3, &format!("{what} {}", inj.name), "#9467bd");
    }
    for d in &run.decisions {
        vmark(body, &a, d.t, &format!("guardrail {}", d.action), "#ff7f0e");
    }
    for f in &run.faults.faults {
        vmark(body, &a, f.from_ms as f64 / 1e3, &format!("fault {}", f.fault), "#d62728");
    }
    for (i, (_, s)) in series.iter().enumerate() {
        line(body, &a, s, COLORS[i % COLORS.len()], "series");
    }
    legend(body, &series.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    body.push_str("</svg>\n");
}

pub fn html(run: &ScenarioRun) -> String {
    let mut body = String::new();
    let stream = |f: &dyn Fn(&super::observer::StreamSecond) -> Option<f64>| -> Vec<(f64, f64)> {
        run.stream.iter().filter_map(|s| f(s).map(|v| (s.t, v))).collect()
    };
    let http = |f: &dyn Fn(&super::http_agent::AgentSecond) -> Option<f64>| -> Vec<(f64, f64)> {
        run.http.iter().enumerate().filter_map(|(t, s)| f(s).map(|v| (t as f64 + 1.0, v))).collect()
    };
    chart(
        &mut body,
        run,
        "throughput",
        "Throughput",
        "per second",
        &[
            ("stream events".into(), stream(&|s| Some(s.events as f64))),
            ("HTTP answers".into(), http(&|s| Some((s.ok + s.shed + s.errors) as f64))),
        ],
    );
    chart(
        &mut body,
        run,
        "latency",
        "Latency percentiles",
        "ms",
        &[
            ("stream p50".into(), stream(&|s| s.p50_ms)),
            ("stream p99".into(), stream(&|s| s.p99_ms)),
            ("HTTP p50".into(), http(&|s| s.ms(0.5))),
            ("HTTP p99".into(), http(&|s| s.ms(0.99))),
        ],
    );
    let monitors: std::collections::BTreeSet<&String> = run.stream.iter().flat_map(|s| s.drift.keys()).collect();
    for m in monitors {
        let stat = |k: &'static str| stream(&move |s| s.drift.get(m).and_then(|d| d.get(k)).copied());
        chart(
            &mut body,
            run,
            &format!("drift-{m}"),
            &format!("Drift `{m}` (latest window)"),
            "statistic",
            &[("PSI".into(), stat("psi")), ("KS D".into(), stat("ks_d"))],
        );
    }
    if run.produced.is_some() || run.stream.iter().any(|s| !s.source_up) {
        chart(
            &mut body,
            run,
            "source",
            "Source reachable (1) or down (0)",
            "up",
            &[("source up".into(), stream(&|s| Some(f64::from(u8::from(s.source_up)))))],
        );
    }
    chart(
        &mut body,
        run,
        "online-error",
        "Online error of labelled predictions",
        "MAE",
        &[("online MAE".into(), stream(&|s| s.online_mae))],
    );
    chart(
        &mut body,
        run,
        "coverage",
        "Labels inside the predicted interval",
        "share",
        &[("coverage".into(), stream(&|s| s.coverage))],
    );
    chart(
        &mut body,
        run,
        "dropped",
        "HTTP requests dropped, shed and failed",
        "per second",
        &[
            ("dropped".into(), http(&|s| Some(s.dropped as f64))),
            ("shed (429)".into(), http(&|s| Some(s.shed as f64))),
            ("errors".into(), http(&|s| Some(s.errors as f64))),
        ],
    );
    let rows: String = run
        .judged
        .iter()
        .map(|j| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}</td></tr>",
                escape(&j.expectation),
                escape(&j.measured),
                if j.passed { "pass" } else { "fail" },
                if j.passed { "pass" } else { "FAIL" }
            )
        })
        .collect();
    let alerts: String = alerts(run)
        .iter()
        .take(200)
        .map(|a| {
            format!(
                "<tr><td>{:.1}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td></tr>",
                a["t"].as_f64().unwrap_or(0.0),
                escape(a["drift"].as_str().unwrap_or("")),
                escape(a["rule"].as_str().unwrap_or("")),
                a["value"].as_f64().unwrap_or(f64::NAN),
                escape(a["action"].as_str().unwrap_or(""))
            )
        })
        .collect();
    let decisions: String = run
        .decisions
        .iter()
        .map(|d| {
            format!(
                "<tr><td>{:.0}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                d.t,
                escape(&d.rule),
                escape(&values(&d.values)),
                escape(&d.outcome)
            )
        })
        .collect();
    let aborted = run
        .aborted()
        .map(|d| format!("<p class=\"fail\">Aborted at {:.0} s by <code>{}</code>.</p>", d.t, escape(&d.rule)))
        .unwrap_or_default();
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Scenario {name}</title>
<style>body{{font-family:system-ui,sans-serif;margin:24px;color:#222}} .chart{{display:block;margin:18px 0}} td,th{{padding:2px 10px;text-align:left}} .pass{{color:#2ca02c}} .fail{{color:#d62728;font-weight:600}}</style>
</head><body>
<h1>Scenario <code>{name}</code>: {verdict}</h1>
<p>{seconds:.1} s, seed {seed}, model {model} v{version}.</p>{aborted}
<h2>Expectations</h2><table><tr><th>expectation</th><th>measured</th><th>result</th></tr>{rows}</table>
{body}<h2>Guardrail timeline</h2><table id="decisions"><tr><th>s</th><th>guardrail</th><th>values</th><th>outcome</th></tr>{decisions}</table>
<h2>Drift alerts</h2><table><tr><th>s</th><th>drift</th><th>rule</th><th>value</th><th>action</th></tr>{alerts}</table>
</body></html>
"#,
        name = escape(&run.scenario.name),
        verdict = if run.passed() { "passed" } else { "FAILED" },
        seconds = run.outcome.seconds,
        seed = run.scenario.seed,
        model = escape(&run.model),
        version = run.outcome.model_version,
    )
}

/// Writes report.json, report.md and report.html into `dir`.
pub fn write(run: &ScenarioRun, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("report.json", &serde_json::to_vec_pretty(&report_json(run)).map_err(|e| e.to_string())?)?;
    write("report.md", markdown(run).as_bytes())?;
    write("report.html", html(run).as_bytes())
}
