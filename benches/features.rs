//! Feature evaluation: `extract` of the shipped pattern on generated addresses, by the
//! fixed-width scan and by the regex engine (what `extract` used for every pattern before).
//!
//! `cargo bench --bench features`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::data::Value;
use housing_flow::features::fixed_width::FixedWidth;
use housing_flow::plan::lower;
use regex_automata::meta::Regex;
use regex_automata::Input;
use std::path::Path;

const PATTERN: &str = "([A-Z]{2}) [0-9]{5}";

fn addresses(n: usize) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/main.hf");
    let plan = lower(&check_file(&path).unwrap().program.unwrap(), 1);
    let schema = &plan.models[0].schema;
    let at = schema.index_of("Address").unwrap();
    Generator::new(schema, 7)
        .unwrap()
        .rows(n)
        .into_iter()
        .filter_map(|e| match &e.values[at] {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn features(c: &mut Criterion) {
    let texts = addresses(1000);
    let fixed = FixedWidth::new(PATTERN).unwrap();
    let re = Regex::new(PATTERN).unwrap();
    let (mut cache, mut captures) = (re.create_cache(), re.create_captures());
    // Both find the same state in every address.
    for text in &texts {
        re.search_captures_with(&mut cache, &Input::new(text), &mut captures);
        assert_eq!(fixed.find(text), captures.get_group(1).map(|m| m.range()), "{text}");
    }
    let mut group = c.benchmark_group("extract/state_from_address");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("fixed_width_scan", |b| {
        b.iter(|| texts.iter().filter_map(|t| fixed.find(black_box(t))).map(|r| r.start).sum::<usize>())
    });
    group.bench_function("regex_engine", |b| {
        b.iter(|| {
            texts
                .iter()
                .filter_map(|t| {
                    re.search_captures_with(&mut cache, &Input::new(black_box(t)), &mut captures);
                    captures.get_group(1).map(|m| m.start)
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, features);
criterion_main!(benches);
