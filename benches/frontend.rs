//! Front-end speed: parsing alone, parsing and checking, and lowering and explaining,
//! on the default pipeline and on a generated file of a little over 2,000 lines.
//!
//! `cargo bench --bench frontend`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use housing_flow::check::check_source;
use housing_flow::diagnostics::render_all;
use housing_flow::plan::{explain, lower};
use housing_flow::syntax::parse_module;
use std::fmt::Write;

const MAIN: &str = include_str!("../pipelines/main.hf");

const FIELDS: usize = 40;
const FEATURE_BLOCKS: usize = 60;
const FEATURES_PER_BLOCK: usize = 30;
const SOURCES: usize = 8;
const MODELS: usize = 12;
const DRIFTS: usize = 20;
const SINKS: usize = 8;

/// A valid program: one schema of `FIELDS` fields, `FEATURE_BLOCKS` features blocks,
/// and sources, models, drift monitors and sinks.
fn generated() -> String {
    let mut s = String::from("# generated for benchmarks\n\nschema listing {\n");
    for i in 0..FIELDS {
        match i % 5 {
            0 => writeln!(s, "  f{i}: f64 in 0 .. 1_000_000"),
            1 => writeln!(s, "  f{i}: i64 in 0 .. 500"),
            2 => writeln!(s, "  f{i}: f64?"),
            3 => writeln!(s, "  f{i}: bool"),
            _ => writeln!(s, "  f{i}: category(\"a\", \"b\", \"c\")"),
        }
        .unwrap();
    }
    s.push_str("  address: str?\n  price: f64?\n}\n\n");
    for i in 0..SOURCES {
        writeln!(s, "source src{i} = generate(listing, rate: {}k/s, seed: {i})", i + 1).unwrap();
    }
    s.push('\n');
    // Only numeric fields take part in arithmetic: f64 (i % 5 == 0, 2) and i64 (i % 5 == 1).
    let numeric: Vec<usize> = (0..FIELDS).filter(|i| i % 5 < 3).collect();
    for b in 0..FEATURE_BLOCKS {
        writeln!(s, "features fs{b} from listing {{").unwrap();
        for k in 0..FEATURES_PER_BLOCK {
            let x = numeric[(b + k) % numeric.len()];
            let y = numeric[(b * 7 + k * 3 + 1) % numeric.len()];
            let all = (b + k) % FIELDS;
            match k % 6 {
                0 => writeln!(s, "  v{k} = f{all}"),
                1 => writeln!(s, "  v{k} = f{x} / max(f{y}, 1)"),
                2 => writeln!(s, "  v{k} = ln(f{x} + 1) * 2.5 - f{y}"),
                3 => writeln!(s, "  v{k} = min(f{x}, f{y}) + max(f{x}, 0)"),
                4 => writeln!(s, "  v{k} = (f{x} + f{y}) * 0.5"),
                _ => writeln!(s, "  v{k} = extract(address, \"([A-Z]{{2}}) [0-9]{{5}}\")"),
            }
            .unwrap();
        }
        s.push_str("}\n\n");
    }
    for m in 0..MODELS {
        writeln!(
            s,
            "model m{m} = lightgbm(fs{}, label: price) {{\n  registry:  \"models\"\n  train:     generate(listing, rows: 20_000, seed: {m})\n  \
             params:    {{ objective: regression, num_leaves: {}, learning_rate: 0.1, num_iterations: 100 }}\n  quantiles: [0.1, 0.9]\n}}\n",
            m * 5 % FEATURE_BLOCKS,
            8 + m
        )
        .unwrap();
    }
    for d in 0..DRIFTS {
        let field = numeric[d % numeric.len()];
        if d % 2 == 0 {
            writeln!(
                s,
                "drift d{d} on f{field} window sliding(10_000 events, every: 1_000) {{\n  psi(bins: 10) > 0.2 => alert\n  ks(p: 0.01) => alert\n}}\n"
            )
        } else {
            writeln!(s, "drift d{d} on f{field} window tumbling(5m) {{\n  psi(bins: 20) > 0.25 for 3 windows => alert\n}}\n")
        }
        .unwrap();
    }
    for k in 0..SINKS {
        if k == 0 {
            writeln!(s, "sink out{k} = memory(keep: 100_000), file(\"out/predictions_{k}.jsonl\")").unwrap();
        } else {
            writeln!(s, "sink out{k} = file(\"out/predictions_{k}.jsonl\")").unwrap();
        }
    }
    s.push_str("sink rejected = file(\"out/dead_letters.jsonl\") from dead_letters\n");
    s.push_str(
        "serve http(port: 8000)\nslo p99(latency) < 50ms\nguardrail rollback when psi(d0) > 0.25 for 3 windows\n",
    );
    s
}

fn generated_checked() -> String {
    let text = generated();
    let c = check_source("generated.hf", &text);
    assert!(
        c.diagnostics.is_empty(),
        "the generated file must check clean:\n{}",
        render_all(&c.map, &c.diagnostics, false)
    );
    let lines = text.lines().count();
    assert!(lines >= 2_000, "the generated file has only {lines} lines");
    eprintln!("generated file: {lines} lines, {} bytes, {} features", text.len(), FEATURE_BLOCKS * FEATURES_PER_BLOCK);
    text
}

fn parse_check(c: &mut Criterion, generated: &str) {
    let mut g = c.benchmark_group("parse_check");
    for (name, text) in [("main.hf", MAIN), ("generated_2000_lines", generated)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| check_source("bench.hf", black_box(text))));
    }
    g.finish();
}

fn parse_only(c: &mut Criterion, generated: &str) {
    let mut g = c.benchmark_group("parse_only");
    for (name, text) in [("main.hf", MAIN), ("generated_2000_lines", generated)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| b.iter(|| parse_module(black_box(text), 0)));
    }
    g.finish();
}

fn lower_explain(c: &mut Criterion) {
    let checked = check_source("main.hf", MAIN);
    let program = checked.program.expect("main.hf checks clean");
    let mut g = c.benchmark_group("lower_explain");
    g.throughput(Throughput::Bytes(MAIN.len() as u64));
    g.bench_function("main.hf", |b| b.iter(|| explain(&lower(black_box(&program), 4))));
    g.finish();
}

fn frontend(c: &mut Criterion) {
    let generated = generated_checked();
    parse_check(c, &generated);
    parse_only(c, &generated);
    lower_explain(c);
}

criterion_group!(benches, frontend);
criterion_main!(benches);
