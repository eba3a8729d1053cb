use super::*;
use crate::check::check_file;
use std::path::Path;

fn plan_of(file: &str, workers: usize) -> Plan {
    let c = check_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    assert!(c.diagnostics.is_empty());
    lower(&c.program.unwrap(), workers)
}

#[test]
fn main_pipeline_has_the_expected_stages_in_order() {
    let plan = plan_of("pipelines/main.hf", 2);
    assert_eq!(plan.dataflows.len(), 1);
    let ops = &plan.dataflows[0].operators;
    let names: Vec<&str> = ops.iter().map(|o| o.kind.name()).collect();
    assert_eq!(&names[..4], ["source", "validate", "features", "predict"]);
    // Every input refers to an earlier operator: the list is in topological order.
    for op in ops {
        assert!(op.inputs.iter().all(|i| i.from < op.id), "{op:?}");
    }
    // A monitor's window updates go to the worker that owns it; its statistics stay there.
    let window = ops.iter().find(|o| o.kind.name() == "drift-window").unwrap();
    assert_eq!(window.exchange, Exchange::ToOwner { monitor: 0 });
    let stats = ops.iter().find(|o| o.kind.name() == "drift-stats").unwrap();
    assert_eq!(stats.exchange, Exchange::Pipeline);
    // Dead letters leave validation on their own port.
    assert!(ops.iter().any(|o| o.inputs.contains(&Input { from: 1, port: Port::Rejected })));
    assert_eq!(plan.models[0].features.features.len(), 7);
}

#[test]
fn an_entry_file_with_its_own_source_replaces_the_used_ones() {
    let plan = plan_of("pipelines/kafka.hf", 1);
    let sources: Vec<&str> = plan.dataflows.iter().map(|d| d.source.as_str()).collect();
    assert_eq!(sources, ["events"]);
    // The used file's sinks still apply, with the entry's own.
    let sinks = plan.dataflows[0].operators.iter().filter(|o| o.kind.name() == "sink").count();
    assert_eq!(sinks, 4);
}

#[test]
fn explain_names_every_operator_and_exchange() {
    let plan = plan_of("pipelines/main.hf", 4);
    let text = explain(&plan);
    assert!(text.starts_with("plan for "));
    assert!(text.contains("4 worker(s)"));
    for op in &plan.dataflows[0].operators {
        assert!(text.contains(&format!("#{:<2} {}", op.id, op.kind.name())), "missing #{}", op.id);
    }
    assert!(text.contains("exchange: hash"));
    assert!(text.contains("sliding 10000 events every 1000 events"));
}

#[test]
fn each_process_of_a_cluster_gets_its_own_files_and_port() {
    assert_eq!(per_process_path("out/predictions.jsonl", 1), "out/predictions.p1.jsonl");
    assert_eq!(per_process_path("/tmp/x/dead", 0), "/tmp/x/dead.p0");
    let plan = plan_of("pipelines/main.hf", 1);
    let files = |p: &Plan| -> Vec<String> {
        p.dataflows[0]
            .operators
            .iter()
            .filter_map(|o| match &o.kind {
                OperatorKind::Sink { targets, .. } => Some(targets.clone()),
                _ => None,
            })
            .flatten()
            .filter_map(|t| match t {
                SinkTarget::File { path, .. } => Some(path),
                _ => None,
            })
            .collect()
    };
    let (p0, p1) = (plan.clone().for_process(0), plan.clone().for_process(1));
    assert_eq!(p0.serve.as_ref().unwrap().port, 8000);
    assert_eq!(p1.serve.as_ref().unwrap().port, 8001);
    let (f0, f1) = (files(&p0), files(&p1));
    assert_eq!(f0.len(), 2);
    assert!(f0.iter().all(|f| f.contains(".p0.")), "{f0:?}");
    assert!(f1.iter().all(|f| f.contains(".p1.")), "{f1:?}");
    assert!(f0.iter().all(|f| !f1.contains(f)));
}

#[test]
fn explain_says_how_a_kafka_source_is_shared_and_committed() {
    let text = explain(&plan_of("pipelines/kafka.hf", 2));
    assert!(text.contains("kafka topic \"raw_housing\""), "{text}");
    assert!(text.contains("group \"housing-flow.events\", from committed offsets else earliest"), "{text}");
    assert!(text.contains("worker w reads partitions p with p % 2 == w"), "{text}");
}
