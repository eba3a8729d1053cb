//! Training time of the default model (pipelines/main.hf: linear trees, 2 leaves, 300 rounds,
//! plus the 0.1 and 0.9 quantile models) on 20k and 200k generated rows.

use criterion::{criterion_group, criterion_main, Criterion};
use housing_flow::check::check_file;
use housing_flow::data::generator::Generator;
use housing_flow::model::train::{train, TrainOptions};
use housing_flow::plan::lower;
use std::path::Path;
use std::time::Duration;

fn training(c: &mut Criterion) {
    let checked = check_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/main.hf")).unwrap();
    let plan = lower(&checked.program.unwrap(), 1);
    let model = &plan.models[0];
    let generator = Generator::new(&model.schema, 7).unwrap();
    let mut group = c.benchmark_group("train/main.hf");
    group.sample_size(10).measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(1));
    for rows in [20_000usize, 200_000] {
        let events = generator.rows(rows);
        let opts = TrainOptions { source: format!("generate({rows})"), seed: 7 };
        group.bench_function(format!("{rows}_rows"), |b| b.iter(|| train(model, &events, &opts).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
