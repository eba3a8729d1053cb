//! The compiled evaluator against LightGBM's own predictor: every row of 100,000 random rows
//! (NaNs, zeros, values near kZeroThreshold, values outside the training range, infinities)
//! must agree, for plain, linear, categorical, quantile, missing-value and other models.

use housing_flow::model::{CompiledModel, LightgbmModel, ModelError, Predictor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use std::collections::BTreeSet;

/// Rows of every property check.
const CHECK_ROWS: usize = 100_000;

/// LightGBM's kZeroThreshold (`1e-35f` widened to double).
const K_ZERO: f64 = 1e-35f32 as f64;

/// Trains through the library's LightGBM C API path, single-threaded and seeded.
fn train(rows: &[f64], labels: &[f64], n_features: usize, params: &str, iterations: usize) -> String {
    let params = format!("{params} verbosity=-1 num_threads=1 deterministic=true seed=7");
    housing_flow::model::train::train_booster(rows, labels, n_features, &params, iterations).unwrap()
}

/// Synthetic housing data: price from area, rooms, age, distance and floor; with
/// `categorical`, a district code 0..12 is prepended. `nan_rate` / `zero_rate` blank out
/// feature values after the label is computed.
fn housing(n: usize, seed: u64, categorical: bool, nan_rate: f64, zero_rate: f64) -> (Vec<f64>, Vec<f64>, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0, 15_000.0).unwrap();
    let district_effect = [30e3, -20e3, 5e3, 80e3, -45e3, 0.0, 12e3, 60e3, -5e3, 25e3, -70e3, 40e3];
    let nf = if categorical { 6 } else { 5 };
    let (mut rows, mut labels) = (Vec::with_capacity(n * nf), Vec::with_capacity(n));
    for _ in 0..n {
        let area: f64 = rng.random_range(20.0..250.0);
        let rooms = rng.random_range(1..=7) as f64;
        let age: f64 = rng.random_range(0.0..100.0);
        let dist: f64 = rng.random_range(0.5..40.0);
        let floor = rng.random_range(-1..=15) as f64;
        let mut price = 2_000.0 * area + 8_000.0 * rooms - 400.0 * age - 3_000.0 * dist + 1_500.0 * floor;
        if dist < 5.0 {
            price += 50_000.0;
        }
        if floor == 0.0 {
            price -= 20_000.0;
        }
        let mut row = vec![area, rooms, age, dist, floor];
        if categorical {
            let district = rng.random_range(0..district_effect.len());
            price += district_effect[district];
            row.insert(0, district as f64);
        }
        labels.push(price + noise.sample(&mut rng));
        for v in &mut row {
            let u: f64 = rng.random();
            if u < nan_rate {
                *v = f64::NAN;
            } else if u < nan_rate + zero_rate {
                *v = 0.0;
            }
        }
        rows.extend(row);
    }
    (rows, labels, nf)
}

/// Random rows for checking: mostly plausible values, plus NaN, exact and signed zeros,
/// values around kZeroThreshold, values far outside the training range, huge values and
/// infinities, and (for category codes) negative, fractional and unseen codes.
fn check_rows(n: usize, nf: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let tiny = [K_ZERO, -K_ZERO, 1e-36, -1e-36, K_ZERO.next_up(), -K_ZERO.next_up(), 1e-300, -1e-300, -0.0, 1e-30];
    let mut rows = Vec::with_capacity(n * nf);
    for _ in 0..n * nf {
        let u: f64 = rng.random();
        let v = if u < 0.55 {
            rng.random_range(-2.0..250.0)
        } else if u < 0.65 {
            f64::NAN
        } else if u < 0.72 {
            0.0
        } else if u < 0.77 {
            tiny[rng.random_range(0..tiny.len())]
        } else if u < 0.85 {
            rng.random_range(-1e4..1e5)
        } else if u < 0.95 {
            // Integers and near-integers, as category codes.
            rng.random_range(-5..40) as f64 + [0.0, 0.0, 0.5, -0.5, 0.999][rng.random_range(0..5)]
        } else if u < 0.98 {
            [1e300, -1e300, 3e9, -3e9, 2147483648.0, f64::MAX][rng.random_range(0..6)]
        } else {
            [f64::INFINITY, f64::NEG_INFINITY][rng.random_range(0..2)]
        };
        rows.push(v);
    }
    rows
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()) || a == b
}

/// Loads `text` both ways and checks every row of `rows`: batch and single-row, native and
/// compiled. Returns how many rows were bit-identical.
fn check_model(name: &str, text: &str, rows: &[f64], nf: usize) -> usize {
    let native = LightgbmModel::from_text(text).unwrap_or_else(|e| panic!("{name}: native load: {e}"));
    let compiled = CompiledModel::from_text(text).unwrap_or_else(|e| panic!("{name}: compiled load: {e}"));
    assert_eq!(native.num_features(), nf, "{name}");
    assert_eq!(compiled.num_features(), nf, "{name}");
    let n = rows.len() / nf;
    let mut want = vec![0.0; n];
    native.predict(rows, nf, &mut want).unwrap();
    let mut got = vec![0.0; n];
    compiled.predict(rows, nf, &mut got);

    let mut exact = 0;
    for (i, (&w, &g)) in want.iter().zip(&got).enumerate() {
        if same(w, g) {
            exact += 1;
            continue;
        }
        let ok = (w - g).abs() <= 1e-9 * w.abs().max(1.0);
        assert!(ok, "{name}: row {i} {:?}: LightGBM {w:e}, compiled {g:e}", &rows[i * nf..(i + 1) * nf]);
    }
    // The code chosen for this CPU (AVX2 where there is one) and the portable code agree.
    let mut portable = vec![0.0; n];
    compiled.predict_portable(rows, nf, &mut portable);
    assert!(portable.iter().zip(&got).all(|(&a, &b)| same(a, b)), "{name}: portable and CPU-specific code differ");
    // Small batches (blocks shorter than the block size) agree with the large one.
    for k in [1, 3, 17] {
        let k = k.min(n);
        let mut small = vec![0.0; k];
        compiled.predict(&rows[..k * nf], nf, &mut small);
        assert!(small.iter().zip(&got).all(|(&a, &b)| same(a, b)), "{name}: batch of {k}");
    }
    // Single-row paths agree with the batch paths of the same predictor: the compiled one on
    // every row (its shallow-tree path has its own handling of NaN and near-zero values).
    for i in 0..n {
        let row = &rows[i * nf..(i + 1) * nf];
        let one = compiled.predict_one(row);
        assert!(same(one, got[i]), "{name}: row {i}: compiled predict_one {one:e}, batch {:e}", got[i]);
        if i % 97 != 0 {
            continue;
        }
        let one = native.predict_one(row).unwrap();
        assert!(same(one, want[i]), "{name}: row {i}: LightGBM predict_one {one:e}, batch {:e}", want[i]);
    }
    eprintln!("{name}: {exact}/{n} rows bit-identical, {} trees", compiled.num_trees());
    exact
}

/// Distinct `decision_type` values in a model text.
fn decision_types(text: &str) -> BTreeSet<i32> {
    text.lines()
        .filter_map(|l| l.strip_prefix("decision_type="))
        .flat_map(|l| l.split_whitespace().map(|v| v.parse::<i32>().unwrap()))
        .collect()
}

#[test]
fn plain_trees_match_lightgbm() {
    let (rows, labels, nf) = housing(10_000, 1, false, 0.0, 0.0);
    let check = check_rows(CHECK_ROWS, nf, 101);
    for (leaves, depth, iterations) in
        [(2, -1, 60), (7, 3, 80), (31, -1, 100), (31, 6, 60), (255, -1, 30), (255, 12, 30)]
    {
        let text = train(
            &rows,
            &labels,
            nf,
            &format!("objective=regression num_leaves={leaves} max_depth={depth}"),
            iterations,
        );
        let name = format!("plain num_leaves={leaves} max_depth={depth}");
        assert_eq!(check_model(&name, &text, &check, nf), CHECK_ROWS, "{name}");
    }
}

#[test]
fn linear_trees_match_lightgbm() {
    // Training data with NaNs, so that the linear leaves meet NaN both in training and here.
    let (rows, labels, nf) = housing(10_000, 2, false, 0.03, 0.02);
    let check = check_rows(CHECK_ROWS, nf, 102);
    for leaves in [2, 8] {
        let text = train(&rows, &labels, nf, &format!("objective=regression linear_tree=true num_leaves={leaves}"), 60);
        assert!(text.contains("is_linear=1"), "linear_tree must give linear leaves");
        // With two leaves most trees are numerical stumps whose leaves read their split feature
        // (50 of 60 here), so a single row takes those from a flat record, which check_model
        // compares with the batch path on every row.
        let flat = CompiledModel::from_text(&text).unwrap().flat_stumps();
        if leaves == 2 {
            assert!(flat >= 30, "{flat} of 60 trees are flat stumps");
        } else {
            assert_eq!(flat, 0, "deeper trees are not stumps");
        }
        let name = format!("linear num_leaves={leaves}");
        assert_eq!(check_model(&name, &text, &check, nf), CHECK_ROWS, "{name}");
    }
}

#[test]
fn categorical_feature_matches_lightgbm() {
    let (rows, labels, nf) = housing(10_000, 3, true, 0.02, 0.0);
    let check = check_rows(CHECK_ROWS, nf, 103);
    for (leaves, extra) in [(15, ""), (15, " linear_tree=true"), (2, ""), (2, " linear_tree=true")] {
        let params = format!("objective=regression num_leaves={leaves} categorical_feature=0{extra}");
        let text = train(&rows, &labels, nf, &params, 60);
        assert!(decision_types(&text).iter().any(|d| d & 1 == 1), "the model must have categorical splits");
        let name = format!("categorical num_leaves={leaves}{extra}");
        assert_eq!(check_model(&name, &text, &check, nf), CHECK_ROWS, "{name}");
    }
}

#[test]
fn quantile_matches_lightgbm() {
    let (rows, labels, nf) = housing(10_000, 4, false, 0.02, 0.02);
    let check = check_rows(CHECK_ROWS, nf, 104);
    for alpha in [0.1, 0.9] {
        let text = train(&rows, &labels, nf, &format!("objective=quantile alpha={alpha} num_leaves=31"), 60);
        assert!(text.contains("objective=quantile"));
        let name = format!("quantile alpha={alpha}");
        assert_eq!(check_model(&name, &text, &check, nf), CHECK_ROWS, "{name}");
    }
}

#[test]
fn missing_value_splits_match_lightgbm() {
    let (rows, labels, nf) = housing(10_000, 5, false, 0.15, 0.15);
    let check = check_rows(CHECK_ROWS, nf, 105);
    // decision_type bits 2-3: missing type 1 = Zero, 2 = NaN.
    for (params, missing_type) in [("zero_as_missing=false", 2), ("zero_as_missing=true", 1)] {
        let text = train(&rows, &labels, nf, &format!("objective=regression num_leaves=31 {params}"), 60);
        let types = decision_types(&text);
        assert!(types.iter().any(|d| (d >> 2) & 3 == missing_type), "{params}: decision types {types:?}");
        assert!(types.iter().any(|d| d & 2 == 2) && types.iter().any(|d| d & 2 == 0), "{params}: both default sides");
        assert_eq!(check_model(params, &text, &check, nf), CHECK_ROWS, "{params}");
    }
    let text = train(&rows, &labels, nf, "objective=regression num_leaves=31 use_missing=false", 40);
    assert_eq!(check_model("use_missing=false", &text, &check, nf), CHECK_ROWS);
}

#[test]
fn other_objectives_and_random_forest_match_lightgbm() {
    let (rows, labels, nf) = housing(10_000, 6, false, 0.03, 0.03);
    let check = check_rows(CHECK_ROWS, nf, 106);
    let median = {
        let mut s = labels.clone();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let above: Vec<f64> = labels.iter().map(|&y| f64::from(y > median)).collect();
    let counts: Vec<f64> = labels.iter().map(|&y| (y.max(0.0) / 100_000.0).floor()).collect();
    let cases: [(&str, &[f64], &str); 5] = [
        ("binary", &above, "objective=binary num_leaves=15"),
        ("cross_entropy", &above, "objective=cross_entropy num_leaves=15"),
        ("poisson", &counts, "objective=poisson num_leaves=15"),
        ("regression sqrt", &labels, "objective=regression reg_sqrt=true num_leaves=15"),
        (
            "random forest",
            &labels,
            "boosting=rf bagging_fraction=0.7 bagging_freq=1 feature_fraction=0.8 num_leaves=31",
        ),
    ];
    for (name, y, params) in cases {
        let text = train(&rows, y, nf, params, 40);
        if name == "random forest" {
            assert!(text.contains("\naverage_output\n"));
        }
        assert_eq!(check_model(name, &text, &check, nf), CHECK_ROWS, "{name}");
    }
}

/// A hand-written model with splits LightGBM's training rarely produces: thresholds inside
/// and at the edge of the zero band, a Zero-missing split whose zeros go against the
/// threshold, a single-leaf tree, a categorical split, a single-leaf linear tree, linear
/// stumps whose leaves use different or two shared features, a deeper tree mixing
/// categorical, Zero and NaN splits, and a categorical linear stump.
const HANDWRITTEN: &str = "tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=2
objective=regression
feature_names=a b c
feature_infos=[-1:1] [-1:1] 0:2:33

Tree=0
num_leaves=2
num_cat=0
split_feature=0
split_gain=1
threshold=0
decision_type=0
left_child=-1
right_child=-2
leaf_value=1 2
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
is_linear=0
shrinkage=1


Tree=1
num_leaves=3
num_cat=0
split_feature=0 1
split_gain=1 1
threshold=-1e-36 1.0000000180025095e-35
decision_type=2 8
left_child=1 -1
right_child=-2 -3
leaf_value=10 20 40
leaf_weight=1 1 1
leaf_count=1 1 1
internal_value=0 0
internal_weight=0 0
internal_count=3 2
is_linear=0
shrinkage=1


Tree=2
num_leaves=2
num_cat=0
split_feature=1
split_gain=1
threshold=-0.5
decision_type=6
left_child=-1
right_child=-2
leaf_value=100 200
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
is_linear=0
shrinkage=1


Tree=3
num_leaves=2
num_cat=0
split_feature=0
split_gain=1
threshold=0.25
decision_type=4
left_child=-1
right_child=-2
leaf_value=1000 2000
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
is_linear=0
shrinkage=1


Tree=4
num_leaves=1
num_cat=0
split_feature=
split_gain=
threshold=
decision_type=
left_child=
right_child=
leaf_value=0.125
leaf_weight=1
leaf_count=1
internal_value=
internal_weight=
internal_count=
is_linear=0
shrinkage=1


Tree=5
num_leaves=2
num_cat=1
split_feature=2
split_gain=1
threshold=0
decision_type=1
left_child=-1
right_child=-2
leaf_value=10000 20000
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
cat_boundaries=0 2
cat_threshold=5 2
is_linear=0
shrinkage=1


Tree=6
num_leaves=1
num_cat=0
split_feature=
split_gain=
threshold=
decision_type=
left_child=
right_child=
leaf_value=-7
leaf_weight=1
leaf_count=1
internal_value=
internal_weight=
internal_count=
is_linear=1
leaf_const=0.5
num_features=2
leaf_features=0 1  
leaf_coeff=3 -1e30  
shrinkage=1


Tree=7
num_leaves=2
num_cat=0
split_feature=1
split_gain=1
threshold=0.29999999999999999
decision_type=2
left_child=-1
right_child=-2
leaf_value=5 6
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
is_linear=1
leaf_const=1 2
num_features=1 2
leaf_features=0  1 2  
leaf_coeff=1.0000000000000001e+30  -2 3e+30  
shrinkage=1


Tree=8
num_leaves=2
num_cat=0
split_feature=0
split_gain=1
threshold=-0.5
decision_type=8
left_child=-1
right_child=-2
leaf_value=50 60
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
is_linear=1
leaf_const=0.25 -0.25
num_features=2 2
leaf_features=0 1  0 1  
leaf_coeff=1e+30 2  3 -1e+30  
shrinkage=1


Tree=9
num_leaves=4
num_cat=1
split_feature=2 0 1
split_gain=1 1 1
threshold=0 -0.25 0.5
decision_type=1 6 8
left_child=1 -1 -3
right_child=2 -2 -4
leaf_value=0.001 0.002 0.003 0.004
leaf_weight=1 1 1 1
leaf_count=1 1 1 1
internal_value=0 0 0
internal_weight=0 0 0
internal_count=4 2 2
cat_boundaries=0 1
cat_threshold=6
is_linear=0
shrinkage=1


Tree=10
num_leaves=2
num_cat=1
split_feature=2
split_gain=1
threshold=0
decision_type=1
left_child=-1
right_child=-2
leaf_value=700 800
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
cat_boundaries=0 2
cat_threshold=1 1
is_linear=1
leaf_const=7 8
num_features=0 0
leaf_features=  
leaf_coeff=  
shrinkage=1


end of trees
";

#[test]
fn handwritten_edge_cases_match_lightgbm() {
    let values = [
        0.0,
        -0.0,
        1e-36,
        -1e-36,
        K_ZERO,
        -K_ZERO,
        K_ZERO.next_up(),
        -K_ZERO.next_up(),
        1e-300,
        0.25,
        0.5,
        -0.5,
        -0.75,
        1.0,
        2.0,
        32.0,
        33.0,
        33.5,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        3e9,
    ];
    let mut rows = Vec::new();
    for &a in &values {
        for &b in &values {
            for &c in &values {
                rows.extend([a, b, c]);
            }
        }
    }
    let n = rows.len() / 3;
    assert_eq!(check_model("handwritten", HANDWRITTEN, &rows, 3), n);
    // The same without Zero-missing splits, where values that read as zero only matter to
    // linear leaves.
    let no_zero = HANDWRITTEN
        .replace("decision_type=6\n", "decision_type=2\n")
        .replace("decision_type=4\n", "decision_type=0\n")
        .replace("decision_type=1 6 8\n", "decision_type=1 2 8\n");
    assert!(!decision_types(&no_zero).iter().any(|d| (d >> 2) & 3 == 1));
    assert_eq!(check_model("handwritten, no Zero splits", &no_zero, &rows, 3), n);
}

/// `text` with the first value of the first line starting with `key` replaced by `value`.
fn replace_first_value(text: &str, key: &str, value: &str) -> String {
    let mut done = false;
    let mut out = String::new();
    for line in text.lines() {
        match line.strip_prefix(key) {
            Some(rest) if !done => {
                done = true;
                let tail = rest.split_once(' ').map_or("", |(_, t)| t);
                out.push_str(format!("{key}{value} {tail}").trim_end());
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn garbled_text_is_an_error_not_a_panic() {
    let (rows, labels, nf) = housing(2_000, 7, true, 0.05, 0.05);
    let text = train(&rows, &labels, nf, "objective=regression num_leaves=7 categorical_feature=0", 5);
    CompiledModel::from_text(&text).unwrap();

    let err = |t: &str| CompiledModel::from_text(t).expect_err("garbled text must be rejected");
    for bad in ["", "hello\n", "not a model at all"] {
        assert!(matches!(err(bad), ModelError::Parse { .. }), "{bad:?}");
    }
    let cut = &text[..text.find("end of trees").unwrap() - 200];
    assert!(err(cut).to_string().contains("line"), "{}", err(cut));
    let e = err(&text.replacen("threshold=", "threshold=abc ", 1));
    assert!(e.to_string().contains("`threshold` has `abc`"), "{e}");
    let e = err(&replace_first_value(&text, "left_child=", "99"));
    assert!(e.to_string().contains("`left_child` has 99, out of range"), "{e}");
    let e = err(&replace_first_value(&text, "split_feature=", "6"));
    assert!(e.to_string().contains("split feature 6 out of range"), "{e}");
    let e = err(&text.replace("objective=regression", "objective=multiclass num_class:3"));
    assert!(matches!(e, ModelError::Unsupported(_)), "{e}");
    let e = err(&text.replace("num_class=1", "num_class=3"));
    assert!(matches!(e, ModelError::Unsupported(_)), "{e}");

    // A cycle: the root's left child is the root.
    let cyclic = text.replacen("left_child=1", "left_child=0", 1);
    if cyclic != text {
        assert!(err(&cyclic).to_string().contains("reached twice"), "{}", err(&cyclic));
    }

    // Random damage must give an error or a working model, never a panic.
    let mut rng = StdRng::seed_from_u64(8);
    let bytes = text.as_bytes();
    let probe = check_rows(50, nf, 9);
    let mut rejected = 0;
    for _ in 0..2_000 {
        let mut b = bytes.to_vec();
        for _ in 0..rng.random_range(1..4) {
            if b.is_empty() {
                break;
            }
            let at = rng.random_range(0..b.len());
            match rng.random_range(0..3) {
                0 => b[at] = b"0123456789-.= \nabcx"[rng.random_range(0..19)],
                1 => {
                    b.remove(at);
                }
                _ => b.truncate(at),
            }
        }
        let damaged = String::from_utf8_lossy(&b);
        match CompiledModel::from_text(&damaged) {
            Ok(m) if m.num_features() == nf => {
                let mut out = vec![0.0; 50];
                m.predict(&probe, nf, &mut out);
            }
            Ok(_) => {}
            Err(_) => rejected += 1,
        }
    }
    assert!(rejected > 500, "only {rejected} of 2000 damaged texts were rejected");

    // LightGBM's own loader reports its error text.
    let e = LightgbmModel::from_text("not a model\n").unwrap_err();
    assert!(matches!(e, ModelError::LightGbm { .. }), "{e}");
    assert!(e.to_string().contains("LGBM_BoosterLoadModelFromString"), "{e}");
}

#[test]
fn shapes_are_checked() {
    let (rows, labels, nf) = housing(1_000, 10, false, 0.0, 0.0);
    let text = train(&rows, &labels, nf, "objective=regression num_leaves=7", 5);
    let predictors: [Box<dyn Predictor>; 2] =
        [Box::new(LightgbmModel::from_text(&text).unwrap()), Box::new(CompiledModel::from_text(&text).unwrap())];
    for p in &predictors {
        let mut out = vec![0.0; 2];
        assert_eq!(p.num_features(), nf);
        assert!(matches!(p.predict(&rows[..2 * nf], nf + 1, &mut out), Err(ModelError::FeatureCount { .. })));
        assert!(matches!(p.predict(&rows[..2 * nf - 1], nf, &mut out), Err(ModelError::Shape { .. })));
        p.predict(&rows[..2 * nf], nf, &mut out).unwrap();
        p.predict(&[], nf, &mut []).unwrap();
    }
    let native = LightgbmModel::from_text(&text).unwrap();
    assert!(matches!(native.predict_one(&rows[..nf - 1]), Err(ModelError::FeatureCount { .. })));
}

#[test]
fn predictors_are_send_and_sync_and_agree_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<LightgbmModel>();
    send_sync::<CompiledModel>();

    let (rows, labels, nf) = housing(5_000, 11, false, 0.0, 0.0);
    let text = train(&rows, &labels, nf, "objective=regression num_leaves=31", 30);
    let native = LightgbmModel::from_text(&text).unwrap();
    let compiled = CompiledModel::from_text(&text).unwrap();
    let check = check_rows(4_000, nf, 12);
    let mut want = vec![0.0; 4_000];
    native.predict(&check, nf, &mut want).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (native, compiled, check, want) = (&native, &compiled, &check, &want);
            s.spawn(move || {
                for i in (t..4_000).step_by(4) {
                    let row = &check[i * nf..(i + 1) * nf];
                    assert!(same(native.predict_one(row).unwrap(), want[i]));
                    assert!(same(compiled.predict_one(row), want[i]));
                }
                let mut out = vec![0.0; 4_000];
                native.predict(check, nf, &mut out).unwrap();
                assert!(out.iter().zip(want).all(|(&a, &b)| same(a, b)));
            });
        }
    });
}
