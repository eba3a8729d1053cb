//! The plan as readable text (`housing-flow explain`).

use super::*;
use crate::program::{Measure, Setting, SourceKind, WindowShape};
use std::fmt::Write;

/// Renders a plan for people.
pub fn explain(plan: &Plan) -> String {
    let mut out = String::new();
    let w = &mut out;
    let entry = plan.files.first().map_or("", String::as_str);
    let _ = writeln!(w, "plan for {entry}: {} worker(s)", plan.workers);
    if plan.files.len() > 1 {
        let _ = writeln!(w, "files: {}", plan.files.join(", "));
    }
    for df in &plan.dataflows {
        let _ = writeln!(w, "\ndataflow `{}`", df.source);
        for op in &df.operators {
            let inputs: Vec<String> = op
                .inputs
                .iter()
                .map(|i| match i.port {
                    Port::Main => format!("#{}", i.from),
                    Port::Rejected => format!("#{}.rejected", i.from),
                })
                .collect();
            let from = if inputs.is_empty() { String::new() } else { format!(" ← {}", inputs.join(", ")) };
            let exchange = match &op.exchange {
                Exchange::Pipeline => String::new(),
                Exchange::ToOwner { monitor } => format!(
                    "  [exchange: hash by drift, all of monitor {monitor}'s updates to worker {}]",
                    monitor % plan.workers.max(1)
                ),
            };
            let _ = writeln!(
                w,
                "  #{:<2} {:<12} {}{from}{exchange}",
                op.id,
                op.kind.name(),
                describe(&op.kind, plan.workers)
            );
        }
    }
    if !plan.models.is_empty() {
        let _ = writeln!(w, "\nmodels");
        for m in &plan.models {
            let model = &m.model;
            let _ = writeln!(
                w,
                "  {}: {} on `{}` ({} features) → label `{}`, registry {}, {} predictor",
                model.name,
                model.algorithm,
                m.features.name,
                m.features.features.len(),
                model.label,
                model.registry,
                match model.predictor {
                    crate::program::PredictorKind::Compiled => "compiled",
                    crate::program::PredictorKind::Lightgbm => "lightgbm",
                }
            );
            let features: Vec<String> =
                m.features.features.iter().map(|f| format!("{} = {}", f.name, f.expr)).collect();
            for f in features {
                let _ = writeln!(w, "      {f}");
            }
            if !model.params.is_empty() {
                let params: Vec<String> = model.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(w, "    params: {}", params.join(", "));
            }
            if !model.quantiles.is_empty() {
                let _ = writeln!(w, "    quantiles: {:?}", model.quantiles);
            }
            let train = model.train.as_ref().map_or("none declared (train --data CSV)".to_string(), source_text);
            let _ = writeln!(w, "    train: {train}, holdout {}%", model.holdout * 100.0);
        }
    }
    if let Some(s) = &plan.serve {
        let _ = writeln!(
            w,
            "\nserve http on {}:{} (body limit {} bytes, timeout {} ms)",
            s.host, s.port, s.body_limit, s.timeout_ms
        );
    }
    for slo in &plan.slos {
        let _ = writeln!(w, "slo {slo}");
    }
    for g in &plan.guardrails {
        let _ = writeln!(w, "guardrail {} when {} for {} window(s)", g.action, g.condition, g.for_windows);
    }
    for s in &plan.scenarios {
        let _ = writeln!(
            w,
            "\nscenario `{}`: {}s, seed {}, {} traffic stream(s), {} timed event(s), {} expectation(s)",
            s.name,
            s.duration_ms as f64 / 1e3,
            s.seed,
            s.traffic.len(),
            s.events.len(),
            s.expectations.len()
        );
    }
    for a in &plan.auctions {
        let bidders: u32 = a.bidders.iter().map(|b| b.count).sum();
        let _ = writeln!(
            w,
            "\nauction `{}`: {} listings from `{}`, {} bidders in {} group(s), bias {}",
            a.name,
            a.listings,
            a.source,
            bidders,
            a.bidders.len(),
            a.biases.iter().map(|b| format!("{:+}%", b * 100.0)).collect::<Vec<_>>().join(", ")
        );
    }
    out
}

fn setting(s: &Setting) -> String {
    match s {
        Setting::Value(v) => v.clone(),
        Setting::Env { var, default: Some(d) } => format!("${var} or {d}"),
        Setting::Env { var, default: None } => format!("${var}"),
    }
}

fn source_text(k: &SourceKind) -> String {
    match k {
        SourceKind::Generate { seed, rate, rows } => {
            let rate = rate.map_or("unlimited".to_string(), |r| format!("{r}/s"));
            let rows = rows.map_or(String::new(), |r| format!(", {r} rows"));
            format!("generator seed {seed}, {rate}{rows}")
        }
        SourceKind::Csv { path, columns, .. } => format!("csv \"{path}\" ({} mapped columns)", columns.len()),
        SourceKind::Kafka { topic, brokers, format, .. } => {
            format!("kafka topic \"{topic}\" at {} ({format})", setting(brokers))
        }
    }
}

fn describe(k: &OperatorKind, workers: usize) -> String {
    match k {
        OperatorKind::Source { source } => {
            let share = match &source.kind {
                SourceKind::Generate { .. } => format!(
                    "seeded events; each of {workers} worker(s) takes the next batch of event numbers when it is ready for more"
                ),
                SourceKind::Csv { .. } => format!("rows are dealt to {workers} worker(s) by row number"),
                SourceKind::Kafka { start, .. } => {
                    let start = match start {
                        crate::program::KafkaStart::Earliest => "earliest",
                        crate::program::KafkaStart::Latest => "latest",
                    };
                    format!(
                        "group \"{}\", from committed offsets else {start}; worker w reads partitions p with p % {workers} == w (manual assignment); offsets committed once outputs are acknowledged",
                        source.kafka_group().unwrap_or_default()
                    )
                }
            };
            format!("`{}`: {} — {share}", source.name, source_text(&source.kind))
        }
        OperatorKind::Validate { schema } => {
            let ranges = schema.fields.iter().filter(|f| f.range.is_some()).count();
            let required = schema.fields.iter().filter(|f| !f.optional).count();
            format!(
                "schema `{}`: {} fields, {required} required, {ranges} ranges; bad events → rejected",
                schema.name,
                schema.fields.len()
            )
        }
        OperatorKind::Features { set } => {
            let names: Vec<&str> = set.features.iter().map(|f| f.name.as_str()).collect();
            format!("`{}`: {}", set.name, names.join(", "))
        }
        OperatorKind::Predict { model, batch: BatchPolicy::Adaptive { max } } => {
            format!("model `{model}` (production version), adaptive batches ≤ {max} rows")
        }
        OperatorKind::DriftCells { drift, target, cells, bins, exact } => {
            let mut parts = Vec::new();
            if *bins > 0 {
                parts.push(format!("{bins} PSI bins"));
            }
            if *cells > 0 {
                parts.push(format!("{cells} KS cells"));
            }
            if *exact {
                parts.push("two cells per training value (exact KS)".to_string());
            }
            let grid = if parts.len() > 1 { "the refined grid of " } else { "" };
            format!(
                "`{drift}` on {target}: values to cells of {grid}{}, counted per window on each worker",
                parts.join(" + ")
            )
        }
        OperatorKind::DriftWindow { drift } => {
            let win = &drift.window;
            let unit = |v: u64| match win.measure {
                Measure::Events => format!("{v} events"),
                Measure::EventTime => format!("{}s", v as f64 / 1e3),
            };
            let shape = match win.shape {
                WindowShape::Sliding => format!("sliding {} every {}", unit(win.size), unit(win.every)),
                WindowShape::Tumbling => format!("tumbling {}", unit(win.size)),
            };
            let late = if win.lateness_ms > 0 {
                format!(", lateness {}s", win.lateness_ms as f64 / 1e3)
            } else {
                String::new()
            };
            let later = (win.size / win.every.max(1)).max(1);
            let plural = if later == 1 { "" } else { "s" };
            format!(
                "`{}`: {shape}{late}; a differential collection timed by window index: +n when values enter, −n {later} window{plural} later",
                drift.name
            )
        }
        OperatorKind::DriftStats { drift, bins, cells } => {
            let statistics: Vec<String> = crate::drift::statistics::ALL
                .iter()
                .map(|s| match s.name() {
                    "psi" => format!("psi ({bins} bins)"),
                    name if *cells > 0 => format!("{name} ({cells} cells)"),
                    name => format!("{name} (none: categorical)"),
                })
                .collect();
            format!("`{drift}`: {}", statistics.join(", "))
        }
        OperatorKind::Rules { drift, rules, guardrails } => {
            let mut all: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
            all.extend(
                guardrails
                    .iter()
                    .map(|g| format!("guardrail {} when {} for {} window(s)", g.action, g.condition, g.for_windows)),
            );
            format!("`{drift}`: {}", all.join("; "))
        }
        OperatorKind::Sink { sink, stream, targets } => {
            let ts: Vec<String> = targets
                .iter()
                .map(|t| match t {
                    SinkTarget::Memory { keep } => format!("memory(keep {keep})"),
                    SinkTarget::Kafka { topic, brokers } => format!("kafka \"{topic}\" at {}", setting(brokers)),
                    SinkTarget::File { path, rotate: None } => format!("file \"{path}\""),
                    SinkTarget::File { path, rotate: Some(r) } => {
                        let mut when = Vec::new();
                        if let Some(b) = r.max_bytes {
                            when.push(format!("at {b} bytes"));
                        }
                        if let Some(ms) = r.every_ms {
                            when.push(format!("every {}s", ms as f64 / 1e3));
                        }
                        format!("file \"{path}\" (rotated {}, keep {})", when.join(" or "), r.keep)
                    }
                    SinkTarget::Stdout => "stdout".into(),
                })
                .collect();
            format!("`{sink}` ({stream:?}): {}", ts.join(", "))
                .replace("(Predictions)", "(predictions)")
                .replace("(DeadLetters)", "(dead letters)")
                .replace("(Alerts)", "(alerts)")
        }
        OperatorKind::Latency => "ingest-to-sink latency → histogram, merged across workers".into(),
    }
}
