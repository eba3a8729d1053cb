//! What one slide of a drift window costs: the incremental way (the slide's 1,000 values in,
//! the 1,000 values of 100 slides ago out, as counts per cell, then PSI, KS, its p-value and
//! Wasserstein from the counts), with KS on the grid and exact, against recomputing the
//! 100,000-value window from scratch (sort and scan, as batch tools do). Also the full dataflow
//! per slide, and mapping values to cells.
//!
//! `cargo bench --bench drift`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use differential_dataflow::difference::Semigroup as _;
use housing_flow::drift::binning::NumericBins;
use housing_flow::drift::{
    ks_exact, ks_pvalue, psi, psi_counts, run_windows, Binning, CellDelta, WindowCounts, WindowSpec,
};
use housing_flow::model::baseline::numeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WINDOW: usize = 100_000;
const SLIDE: usize = 1_000;

fn normal(rng: &mut StdRng, mean: f64, sd: f64) -> f64 {
    // Box–Muller.
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-300), rng.random());
    mean + sd * (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
}

struct Setup {
    reference: Vec<f64>,
    binning: Binning,
    stream: Vec<f64>,
}

fn setup() -> Setup {
    let mut rng = StdRng::seed_from_u64(7);
    let reference: Vec<f64> = (0..20_000).map(|_| normal(&mut rng, 68_000.0, 10_600.0)).collect();
    let binning = Binning::from_baseline(&numeric(&reference).unwrap(), 10, 1000, None);
    let stream: Vec<f64> = (0..WINDOW + 100 * SLIDE).map(|_| normal(&mut rng, 68_000.0, 10_600.0)).collect();
    Setup { reference, binning, stream }
}

fn bins(s: &Setup) -> &NumericBins {
    match &s.binning {
        Binning::Numeric(b) => b,
        Binning::Categorical(_) => unreachable!(),
    }
}

fn slides(c: &mut Criterion) {
    let s = setup();
    let b = bins(&s);
    let mut group = c.benchmark_group("drift slide (W = 100k, S = 1k)");
    group.sample_size(20);

    // Incremental: counts per cell, updated by the slide's entering and leaving values; KS on
    // the 1,000-cell grid, and exact against all 20,000 reference values (`ks(exact)`).
    let mut sorted = s.reference.clone();
    sorted.sort_by(f64::total_cmp);
    let exact = Binning::from_baseline(&numeric(&s.reference).unwrap(), 10, 1000, Some(&sorted));
    for (name, binning) in [("incremental", &s.binning), ("incremental, exact KS", &exact)] {
        let Binning::Numeric(b) = binning else { unreachable!() };
        let cells: Vec<u32> = s.stream.iter().map(|&x| b.cell(x).unwrap()).collect();
        let mut counts = WindowCounts::new(binning);
        for &c in &cells[..WINDOW] {
            counts.apply(binning, u64::from(c), 1);
        }
        let mut at = WINDOW;
        let mut scratch = vec![0i64; b.cells()];
        group.bench_function(name, |bench| {
            bench.iter(|| {
                if at + SLIDE > cells.len() {
                    at = WINDOW;
                }
                // Pre-aggregate the entering and the leaving slide, as the feed does, then apply.
                for &c in &cells[at..at + SLIDE] {
                    scratch[c as usize] += 1;
                }
                for &c in &cells[at - WINDOW..at - WINDOW + SLIDE] {
                    scratch[c as usize] -= 1;
                }
                for (cell, n) in scratch.iter_mut().enumerate() {
                    if *n != 0 {
                        counts.apply(binning, cell as u64, *n);
                        *n = 0;
                    }
                }
                at += SLIDE;
                black_box(counts.statistics(binning))
            })
        });
    }

    // As the dataflow applies a slide that touched many cells: entering and leaving counts as
    // two dense vectors.
    let cells: Vec<u32> = s.stream.iter().map(|&x| b.cell(x).unwrap()).collect();
    let mut counts = WindowCounts::new(&s.binning);
    for &c in &cells[..WINDOW] {
        counts.apply(&s.binning, u64::from(c), 1);
    }
    let mut at = WINDOW;
    group.bench_function("incremental, dense slides", |bench| {
        bench.iter(|| {
            if at + SLIDE > cells.len() {
                at = WINDOW;
            }
            let (mut entering, mut leaving) = (vec![0u32; b.cells()], vec![0u32; b.cells()]);
            for &c in &cells[at..at + SLIDE] {
                entering[c as usize] += 1;
            }
            for &c in &cells[at - WINDOW..at - WINDOW + SLIDE] {
                leaving[c as usize] += 1;
            }
            // One update: the entering slide plus the leaving one, as each worker sends it.
            let mut update = CellDelta::from_counts(&entering);
            update.plus_equals(&CellDelta::from_counts(&leaving).leaving());
            counts.apply_delta(&s.binning, &update);
            at += SLIDE;
            black_box(counts.statistics(&s.binning))
        })
    });

    // A worker's update for one window: what enters it and what leaves it, as the feed counted
    // them, in one vector.
    let (mut entering, mut leaving) = (vec![0u32; b.cells()], vec![0u32; b.cells()]);
    for &c in &cells[WINDOW..WINDOW + SLIDE] {
        entering[c as usize] += 1;
    }
    for &c in &cells[..SLIDE] {
        leaving[c as usize] += 1;
    }
    group.bench_function("update from the entering and leaving counts", |bench| {
        bench.iter(|| black_box(CellDelta::slide(&entering, Some(&leaving))))
    });

    // The statistics alone, after a dense slide (the bins folded, the KS distance by one pass).
    let zero = CellDelta::dense(vec![0; b.cells()]);
    group.bench_function("statistics after a dense slide", |bench| {
        bench.iter(|| {
            counts.apply_delta(&s.binning, &zero);
            black_box(counts.statistics(&s.binning))
        })
    });

    // From scratch: the window's values sorted, binned and compared with the sorted reference.
    let mut at = WINDOW;
    group.bench_function("recompute", |bench| {
        bench.iter(|| {
            if at + SLIDE > s.stream.len() {
                at = WINDOW;
            }
            let window = &s.stream[at + SLIDE - WINDOW..at + SLIDE];
            at += SLIDE;
            let psi = psi(&b.psi_reference, &psi_counts(&b.psi_edges, window));
            let d = ks_exact(&s.reference, window);
            black_box((psi, d, ks_pvalue(d, window.len() as u64, s.reference.len() as u64)))
        })
    });
    group.finish();

    // The whole dataflow (one worker): 100 slides after a full window, per slide.
    let cells: Vec<u32> = s.stream.iter().map(|&x| b.cell(x).unwrap()).collect();
    let mut group = c.benchmark_group("drift dataflow");
    group.sample_size(10);
    let values: Vec<(u64, u64)> = cells.iter().enumerate().map(|(i, &c)| (i as u64, u64::from(c))).collect();
    group.throughput(Throughput::Elements(values.len() as u64));
    group.bench_function("200k values, W = 100k, S = 1k, 1 worker", |bench| {
        bench.iter(|| {
            let (windows, _) = run_windows(
                WindowSpec::events(WINDOW as u64, SLIDE as u64),
                s.binning.clone(),
                values.clone(),
                1,
                1024,
            );
            assert_eq!(windows.len(), values.len() / SLIDE);
            black_box(windows)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("drift cells");
    group.throughput(Throughput::Elements(SLIDE as u64));
    let mut rng = StdRng::seed_from_u64(3);
    let probes: Vec<f64> = (0..SLIDE).map(|_| normal(&mut rng, 68_000.0, 15_000.0)).collect();
    group.bench_function("lookup", |bench| {
        bench.iter(|| probes.iter().map(|&x| b.cell(x).unwrap_or(0) as u64).sum::<u64>())
    });
    // As the feed does: each value's cell counted.
    let mut counts = vec![0u32; b.cells()];
    group.bench_function("lookup and count", |bench| {
        bench.iter(|| {
            for &x in &probes {
                if let Some(c) = b.cell(x) {
                    counts[c as usize] += 1;
                }
            }
            black_box(&counts);
        })
    });
    group.bench_function("binary search", |bench| {
        bench.iter(|| probes.iter().map(|&x| b.ks_grid.partition_point(|&g| g < x) as u64).sum::<u64>())
    });
    group.finish();
    let _ = rng.random::<u8>();
}

criterion_group!(benches, slides);
criterion_main!(benches);
