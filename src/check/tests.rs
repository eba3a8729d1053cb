//! Checker behaviour on small programs: what the typed program holds, and which
//! problems are found. Rendered messages are covered by the golden files in tests/diagnostics.

use super::{check_source, check_with, MemoryFiles};
use crate::diagnostics::Code;
use crate::program::*;
use std::path::{Path, PathBuf};

const SCHEMA: &str =
    "schema housing {\n  income: f64 in 0 .. 1_000_000\n  rooms: f64\n  beds: f64\n  address: str?\n  price: f64?\n}\n";

fn ok(text: &str) -> Program {
    let c = check_source("t.hf", text);
    assert!(c.diagnostics.is_empty(), "{}", crate::diagnostics::render_all(&c.map, &c.diagnostics, false));
    c.program.expect("clean check has a program")
}

fn codes(text: &str) -> Vec<Code> {
    check_source("t.hf", text).diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn units_are_converted_to_base_units() {
    let p = ok(&format!(
        "{SCHEMA}source raw = generate(housing, rate: 20k/s, seed: 3)\n\
         drift d on income window sliding(10m, every: 1m, lateness: 30s) {{ psi() > 0.2 => alert }}\n\
         slo p99(latency) < 50ms\nslo error_rate < 1%\n"
    ));
    assert_eq!(p.sources[0].kind, SourceKind::Generate { seed: 3, rate: Some(20_000.0), rows: None });
    let w = &p.drifts[0].window;
    assert_eq!((w.measure, w.size, w.every, w.lateness_ms), (Measure::EventTime, 600_000, 60_000, 30_000));
    assert_eq!(
        p.slos[0],
        Condition::Compare { metric: Metric::Latency { quantile: 0.99, http: false }, op: CmpOp::Lt, value: 50.0 }
    );
    assert_eq!(p.slos[1], Condition::Compare { metric: Metric::ErrorRate, op: CmpOp::Lt, value: 0.01 });
}

#[test]
fn features_are_typed_and_record_their_fields() {
    let p = ok(&format!(
        "{SCHEMA}features f from housing {{\n  ratio = rooms / max(beds, 1)\n  state = extract(address, \"([A-Z]{{2}}) [0-9]{{5}}\")\n  rich = income > 100k\n  r2 = ratio * 2\n}}\n"
    ));
    let f = &p.features[0].features;
    assert_eq!(
        f.iter().map(|x| x.ty).collect::<Vec<_>>(),
        [FeatureType::Numeric, FeatureType::Category, FeatureType::Bool, FeatureType::Numeric]
    );
    assert_eq!(f[0].reads, ["beds", "rooms"]);
    // A feature built on an earlier feature reads that feature's fields.
    assert_eq!(f[3].reads, ["beds", "rooms"]);
    assert!(matches!(f[3].expr, FeatureExpr::Binary { .. }));
}

#[test]
fn type_and_unit_errors_are_found_together() {
    let found = codes(&format!(
        "{SCHEMA}source raw = generate(housing, rate: 10s)\nfeatures f from housing {{ a = incme\n b = address\n c = rooms > 1 + true }}\n"
    ));
    assert!(found.contains(&Code::UnitMismatch), "{found:?}");
    assert!(found.contains(&Code::UnknownField), "{found:?}");
    assert!(found.contains(&Code::StringFeature), "{found:?}");
    assert!(found.contains(&Code::TypeMismatch), "{found:?}");
}

#[test]
fn a_registry_is_a_directory_or_an_mlflow_server() {
    let model = |registry: &str| {
        format!("{SCHEMA}features f from housing {{ r = rooms }}\nmodel m = lightgbm(f, label: price) {{ registry: {registry} }}\n")
    };
    let p = ok(&model(r#"mlflow("http://h:5000/", name: "housing_price", experiment: "e")"#));
    assert_eq!(
        p.models[0].registry,
        RegistrySpec::Mlflow {
            url: Some("http://h:5000".into()),
            name: Some("housing_price".into()),
            experiment: Some("e".into())
        }
    );
    assert_eq!(p.models[0].registered_name(), "housing_price");
    let p = ok(&model("mlflow()"));
    assert_eq!(p.models[0].registry, RegistrySpec::Mlflow { url: None, name: None, experiment: None });
    assert_eq!(p.models[0].registered_name(), "m");
    assert_eq!(ok(&model(r#""reg""#)).models[0].registry, RegistrySpec::Directory { path: "reg".into() });
    assert_eq!(codes(&model(r#"mlflow("ftp://h")"#)), [Code::OutOfRange]);
    assert_eq!(codes(&model(r#"mlflow(name: "  ")"#)), [Code::OutOfRange]);
    assert_eq!(codes(&model(r#"mlflow(nme: "x")"#)), [Code::UnknownProperty]);
    assert_eq!(codes(&model("s3(\"bucket\")")), [Code::TypeMismatch]);
    assert_eq!(codes(&model("5")), [Code::TypeMismatch]);
}

#[test]
fn a_model_may_not_read_its_label() {
    let found =
        codes(&format!("{SCHEMA}features f from housing {{ x = price * 2 }}\nmodel m = lightgbm(f, label: price)\n"));
    assert_eq!(found, [Code::Conflict]);
}

#[test]
fn windows_must_be_whole_slides() {
    let found = codes(&format!(
        "{SCHEMA}drift d on income window sliding(10_000 events, every: 3_000) {{ psi() > 0.1 => alert }}\n"
    ));
    assert_eq!(found, [Code::OutOfRange]);
    let found = codes(&format!(
        "{SCHEMA}drift d on income window sliding(10_000 events, every: 1m) {{ psi() > 0.1 => alert }}\n"
    ));
    assert_eq!(found, [Code::UnitMismatch]);
}

#[test]
fn uses_resolve_relative_to_the_using_file_and_cycles_are_errors() {
    let mut files = MemoryFiles::default();
    files.0.insert(PathBuf::from("lib/schema.hf"), SCHEMA.to_string());
    files.0.insert(PathBuf::from("app/main.hf"), "use \"../lib/schema.hf\"\nsource raw = generate(housing)\n".into());
    let c = check_with(&files, Path::new("app/main.hf")).unwrap();
    assert!(c.diagnostics.is_empty());
    let p = c.program.unwrap();
    assert_eq!(p.files, ["app/main.hf", "lib/schema.hf"]);
    assert_eq!(p.sources[0].file, "app/main.hf");

    let mut files = MemoryFiles::default();
    files.0.insert(PathBuf::from("a.hf"), "use \"b.hf\"\n".into());
    files.0.insert(PathBuf::from("b.hf"), "use \"a.hf\"\n".into());
    let c = check_with(&files, Path::new("a.hf")).unwrap();
    assert_eq!(c.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>(), [Code::UseCycle]);
}

#[test]
fn names_share_one_namespace_across_files() {
    let mut files = MemoryFiles::default();
    files.0.insert(PathBuf::from("lib.hf"), SCHEMA.to_string());
    files.0.insert(PathBuf::from("main.hf"), format!("use \"lib.hf\"\n{SCHEMA}"));
    let c = check_with(&files, Path::new("main.hf")).unwrap();
    assert!(c.diagnostics.iter().any(|d| d.code == Code::DuplicateName));
}

#[test]
fn scenarios_and_auctions_are_typed() {
    let p = ok(&format!(
        "{SCHEMA}source raw = generate(housing)\n\
         features f from housing {{ r = rooms }}\nmodel m = lightgbm(f, label: price)\nserve http(port: 0)\n\
         drift d on income window tumbling(1k events) {{ psi() > 0.2 => alert }}\n\
         scenario s {{\n duration 1m\n traffic http ramp(10/s -> 100/s, over: 10s) then constant(100/s)\n\
          at 20s drift income scale(1.2)\n at 30s fault cache down for 5s\n\
          expect drift(d) detected within 10s of 20s\n}}\n\
         auction a {{\n listings 10 from raw\n bidders {{ owner x 2 {{ max: estimate * 1.05, noise: 2% }} }}\n bias model by -5%\n}}\n"
    ));
    let s = &p.scenarios[0];
    assert_eq!(s.duration_ms, 60_000);
    assert_eq!(s.traffic[0].patterns[0], Pattern::Ramp { from: 10.0, to: 100.0, over_ms: 10_000 });
    assert_eq!(s.events[1], TimedEvent { at_ms: 30_000, for_ms: Some(5_000), event: Event::Fault(Fault::CacheDown) });
    assert_eq!(
        s.expectations[0],
        Expectation::Detected { drift: "d".into(), within_ms: Some(10_000), of_ms: Some(20_000) }
    );
    let a = &p.auctions[0];
    assert_eq!(a.biases.len(), 1);
    assert!((a.biases[0] + 0.05).abs() < 1e-12);
    assert_eq!(a.bidders[0].persona, Persona::Owner);
    assert!((a.bidders[0].noise - 0.02).abs() < 1e-12);
}

#[test]
fn every_shipped_file_checks_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["pipelines", "scenarios"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "hf") {
                let c = super::check_file(&path).unwrap();
                assert!(c.diagnostics.is_empty(), "{}", crate::diagnostics::render_all(&c.map, &c.diagnostics, false));
            }
        }
    }
}

#[test]
fn scenario_guardrails_concept_drift_and_timed_rollbacks_are_typed() {
    let base = format!(
        "{SCHEMA}source raw = generate(housing)\n\
         features f from housing {{ r = rooms }}\nmodel m = lightgbm(f, label: price)\nserve http(port: 0)\n\
         drift d on income window tumbling(1k events) {{ psi() > 0.2 => alert }}\n"
    );
    let p = ok(&format!(
        "{base}scenario s {{\n duration 1m\n traffic stream constant(1k/s)\n\
          at 20s drift price scale(1.2) where income > 80k and rooms <= 3\n\
          at 30s fault error(route: \"/predict\", rate: 10%) for 5s\n\
          guardrail shed(30%) when p99(http_latency) > 50ms for 2s\n guardrail abort when unsent_requests > 10k\n\
          expect rise(mae, at: 20s) > 20%\n expect rollback within 10s of 20s\n}}\n"
    ));
    let s = &p.scenarios[0];
    let Event::Drift { field, when, .. } = &s.events[0].event else { panic!("{:?}", s.events) };
    assert_eq!(field, "price");
    assert_eq!(
        when,
        &[
            FieldTest { field: "income".into(), op: CmpOp::Gt, value: 80_000.0 },
            FieldTest { field: "rooms".into(), op: CmpOp::Le, value: 3.0 }
        ]
    );
    assert_eq!(s.events[1].event, Event::Fault(Fault::Error { route: "/predict".into(), fraction: 0.1 }));
    assert_eq!(s.guardrails[0].action, Action::Shed { fraction: 0.3 });
    assert_eq!(s.guardrails[0].hold_s, 2);
    assert_eq!(s.guardrails[1].action, Action::Abort);
    let Expectation::Holds { condition: Condition::Compare { metric, value, .. } } = &s.expectations[0] else {
        panic!("{:?}", s.expectations)
    };
    assert_eq!(metric, &Metric::Rise { of: Box::new(Metric::OnlineMae), at_ms: 20_000 });
    assert!((value - 0.2).abs() < 1e-12);
    assert_eq!(s.expectations[1], Expectation::RolledBack { within_ms: Some(10_000), of_ms: Some(20_000) });

    let bad =
        |body: &str| codes(&format!("{base}scenario s {{\n duration 1m\n traffic stream constant(1k/s)\n{body}\n}}\n"));
    // A pattern with no end before `then`, an unknown route, a text field in `where`, half seconds.
    assert_eq!(bad(" traffic http constant(1k/s) then constant(2k/s)"), [Code::BadStatement]);
    assert_eq!(bad(" at 1s fault error(route: \"/nope\", rate: 1%)"), [Code::UnknownName]);
    assert_eq!(bad(" at 1s drift price scale(2) where address > 3"), [Code::TypeMismatch]);
    assert_eq!(bad(" guardrail alert when throughput > 1/s for 1500ms"), [Code::OutOfRange]);
    assert_eq!(bad(" expect rise(p99(latency), at: 5s) > 10%"), [Code::TypeMismatch]);
    assert_eq!(bad(" expect rollback detected"), [Code::BadStatement]);

    // HTTP traffic against a pipeline with no server is refused, as is an error fault there.
    let no_server = base.replace("serve http(port: 0)\n", "");
    let c = codes(&format!("{no_server}scenario s {{\n duration 1m\n traffic http constant(1k/s)\n}}\n"));
    assert_eq!(c, [Code::BadStatement]);
}

#[test]
fn exact_ks_is_a_bare_word_of_the_ks_statistics() {
    let drift =
        |rules: &str| format!("{SCHEMA}drift d on income window sliding(1_000 events, every: 100) {{\n{rules}\n}}\n");
    let p = ok(&drift("  ks(exact) > 0.1 => alert\n  ks(exact, p: 0.01) => log\n  ks_p(exact) < 0.001 => log"));
    let d = &p.drifts[0];
    assert!(d.ks_exact());
    assert_eq!(d.ks_cells(), None, "exact has no cells");
    let texts: Vec<String> = d.rules.iter().map(|r| r.to_string()).collect();
    assert_eq!(texts[0], "ks(exact) > 0.1 => alert");
    assert_eq!(texts[1], "ks_p(exact) < 0.01 => log");
    assert!(!ok(&drift("  ks(p: 0.01) => alert")).drifts[0].ks_exact());
    // Only the KS statistics have it, without cells, and one drift has one KS distance.
    assert_eq!(codes(&drift("  psi(exact) > 0.1 => alert")), [Code::UnknownProperty]);
    assert_eq!(codes(&drift("  ks(exact, cells: 100) > 0.1 => alert")), [Code::OutOfRange]);
    assert_eq!(codes(&drift("  ks(exact, p: 0.01, cells: 100) => alert")), [Code::OutOfRange]);
    assert_eq!(codes(&drift("  ks(exact) > 0.1 => alert\n  ks(p: 0.01) => alert")), [Code::TypeMismatch]);
    assert_eq!(codes(&drift("  ks(exactly) > 0.1 => alert")), [Code::WrongArity]);
}
