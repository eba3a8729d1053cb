//! Training a model declared in a `.hf` file: features compiled once, a seeded holdout
//! split, LightGBM for the estimate and one booster per declared quantile, metrics next to
//! a linear baseline, and the drift baselines stored with the model.

mod booster;
mod register;

pub use booster::{known_params, train as train_booster};
pub use register::{train_and_register, Registered};

use super::baseline;
use super::evaluate;
use super::linear::Linear;
use super::reference::{ReferenceSamples, REFERENCE_FILE};
use crate::data::{Event, Value};
use crate::features::{CategoryMaps, Cell, CompiledFeatures};
use crate::plan::ModelPlan;
use crate::program::{FeatureType, ParamValue};
use crate::registry::meta::*;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Instant;

/// Fewest rows a model is trained on.
pub const MIN_ROWS: usize = 20;

/// Why training failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("the label `{label}` is not a field of schema `{schema}`")]
    MissingLabel { label: String, schema: String },
    #[error("{count} of {total} training rows have no usable label `{label}` (missing or not a finite number; first at row {first})")]
    BadLabels { label: String, count: usize, total: usize, first: usize },
    #[error("too few rows to train on: {rows} (at least {min} are needed, with {holdout}% held out)")]
    TooFewRows { rows: usize, min: usize, holdout: f64 },
    #[error("unknown LightGBM parameter `{0}`{1}")]
    UnknownParam(String, String),
    #[error("{0}")]
    Features(String),
    #[error("{0}")]
    LightGbm(String),
}

/// A trained model: files for the registry and its metadata.
pub struct TrainedModel {
    /// `model.txt` and one file per quantile, with their text.
    pub files: Vec<(String, Vec<u8>)>,
    pub meta: ModelMeta,
    /// The feature matrix LightGBM was trained on, to check serving against.
    pub matrix: TrainingMatrix,
}

/// The rows handed to LightGBM: row-major, `width` features per row.
pub struct TrainingMatrix {
    /// For each row, the index of its event in the training events.
    pub events: Vec<usize>,
    pub rows: Vec<f64>,
    pub width: usize,
}

/// What training reports besides the model.
pub struct TrainOptions {
    /// A description of the data, for `meta.json`.
    pub source: String,
    /// Seeds the split and LightGBM.
    pub seed: u64,
}

/// Parameters naming the number of boosting rounds, which the training loop drives.
const ITERATION_ALIASES: &[&str] = &[
    "num_iterations",
    "num_iteration",
    "n_iter",
    "num_tree",
    "num_trees",
    "num_round",
    "num_rounds",
    "nrounds",
    "num_boost_round",
    "n_estimators",
    "max_iter",
];

/// Trains `plan`'s model on `events`.
pub fn train(plan: &ModelPlan, events: &[Event], opts: &TrainOptions) -> Result<TrainedModel, TrainError> {
    let started = Instant::now();
    let model = &plan.model;
    let features = CompiledFeatures::compile(&plan.features).map_err(TrainError::Features)?;
    let label_index = plan
        .schema
        .index_of(&model.label)
        .ok_or_else(|| TrainError::MissingLabel { label: model.label.clone(), schema: plan.schema.name.clone() })?;
    let labels = labels(events, label_index, &model.label)?;
    let holdout_n = ((events.len() as f64) * model.holdout).round() as usize;
    if events.len() < MIN_ROWS || holdout_n == 0 || holdout_n >= events.len() {
        return Err(TrainError::TooFewRows { rows: events.len(), min: MIN_ROWS, holdout: model.holdout * 100.0 });
    }
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(opts.seed));
    let (test_idx, train_idx) = order.split_at(holdout_n);

    let train_events: Vec<&[Value]> = train_idx.iter().map(|&i| events[i].values.as_slice()).collect();
    let test_events: Vec<&[Value]> = test_idx.iter().map(|&i| events[i].values.as_slice()).collect();
    let cats = CategoryMaps::learn(&features, train_events.iter().copied());
    let nf = features.len();
    let train_rows = features.eval_rows(train_events.iter().copied(), &cats);
    let test_rows = features.eval_rows(test_events.iter().copied(), &cats);
    let train_y: Vec<f64> = train_idx.iter().map(|&i| labels[i]).collect();
    let test_y: Vec<f64> = test_idx.iter().map(|&i| labels[i]).collect();

    let (params, iterations) = params(model.params.iter(), &features, opts.seed)?;
    let text = booster::train(&train_rows, &train_y, nf, &params, iterations).map_err(TrainError::LightGbm)?;
    let test_pred = predict(&text, &test_rows, nf)?;

    let mut files = vec![("model.txt".to_string(), text.clone().into_bytes())];
    let mut quantiles = Vec::new();
    let mut interval: Vec<Vec<f64>> = Vec::new();
    for &alpha in &model.quantiles {
        let q_params = with_objective(&params, &format!("objective=quantile alpha={alpha}"));
        let q_text = booster::train(&train_rows, &train_y, nf, &q_params, iterations).map_err(TrainError::LightGbm)?;
        interval.push(predict(&q_text, &test_rows, nf)?);
        let file = format!("q{alpha}.txt");
        files.push((file.clone(), q_text.into_bytes()));
        quantiles.push(QuantileFile { alpha, file });
    }

    let skip: Vec<bool> = features.types.iter().map(|t| *t == FeatureType::Category).collect();
    let linear = Linear::fit(&train_rows, &train_y, nf, &skip);
    let lin_pred = linear.predict(&test_rows);
    let (coverage, nominal) = match (interval.first(), interval.last(), model.quantiles.first(), model.quantiles.last())
    {
        (Some(lo), Some(hi), Some(a), Some(b)) if model.quantiles.len() >= 2 => {
            (Some(evaluate::coverage(&test_y, lo, hi)), Some(b - a))
        }
        _ => (None, None),
    };
    let metrics = HoldoutMetrics {
        r2: evaluate::r2(&test_y, &test_pred),
        rmse: evaluate::rmse(&test_y, &test_pred),
        mae: evaluate::mae(&test_y, &test_pred),
        coverage,
        nominal_coverage: nominal,
        baseline_r2: evaluate::r2(&test_y, &lin_pred),
        baseline_rmse: evaluate::rmse(&test_y, &lin_pred),
        baseline_mae: evaluate::mae(&test_y, &lin_pred),
    };

    let train_pred = predict(&text, &train_rows, nf)?;
    let (baselines, reference) = baselines(plan, &features, &train_events, &train_rows, &train_pred);
    files.push((REFERENCE_FILE.to_string(), reference.encode()));
    let meta = ModelMeta {
        name: model.name.clone(),
        version: 0,
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        features: features
            .names
            .iter()
            .zip(&features.types)
            .map(|(n, t)| FeatureMeta { name: n.clone(), kind: *t })
            .collect(),
        categories: cats.values.clone(),
        label: model.label.clone(),
        params: params_map(&params),
        quantiles,
        training: TrainingInfo {
            source: opts.source.clone(),
            data_hash: data_hash(&train_rows, &train_y, &test_rows, &test_y),
            rows: events.len(),
            train_rows: train_y.len(),
            holdout_rows: test_y.len(),
            seed: opts.seed,
            seconds: started.elapsed().as_secs_f64(),
        },
        metrics,
        baselines,
        checksums: BTreeMap::new(),
        external: false,
    };
    let matrix = TrainingMatrix { events: train_idx.to_vec(), rows: train_rows, width: nf };
    Ok(TrainedModel { files, meta, matrix })
}

/// The label of every event, or an error naming how many are missing.
fn labels(events: &[Event], index: usize, label: &str) -> Result<Vec<f64>, TrainError> {
    let mut out = Vec::with_capacity(events.len());
    let mut bad = 0;
    let mut first = 0;
    for (row, e) in events.iter().enumerate() {
        match e.values.get(index).and_then(Value::as_f64).filter(|y| y.is_finite()) {
            Some(y) => out.push(y),
            None => {
                if bad == 0 {
                    first = row;
                }
                bad += 1;
                out.push(f64::NAN);
            }
        }
    }
    if bad > 0 {
        return Err(TrainError::BadLabels { label: label.to_string(), count: bad, total: events.len(), first });
    }
    Ok(out)
}

/// The LightGBM parameter string and the number of rounds.
fn params<'a>(
    user: impl Iterator<Item = (&'a String, &'a ParamValue)>,
    features: &CompiledFeatures,
    seed: u64,
) -> Result<(String, usize), TrainError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut parts = vec![
        "verbosity=-1".to_string(),
        format!("seed={seed}"),
        "deterministic=true".to_string(),
        format!("num_threads={threads}"),
    ];
    let cats = features.categorical();
    if !cats.is_empty() {
        let list: Vec<String> = cats.iter().map(|i| i.to_string()).collect();
        parts.push(format!("categorical_feature={}", list.join(",")));
    }
    let mut iterations = 100;
    let known = known_params();
    for (k, v) in user {
        if !known.contains(k.as_str()) {
            let hint = crate::diagnostics::did_you_mean(k, known.iter().map(String::as_str))
                .map_or(String::new(), |h| format!("; {h}"));
            return Err(TrainError::UnknownParam(k.clone(), hint));
        }
        if ITERATION_ALIASES.contains(&k.as_str()) {
            iterations = match v {
                ParamValue::Number(n) if *n >= 1.0 && n.fract() == 0.0 => *n as usize,
                other => return Err(TrainError::LightGbm(format!("`{k}` must be a whole number ≥ 1, got {other}"))),
            };
        }
        let value = match v {
            ParamValue::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        if value.contains(char::is_whitespace) || value.contains('=') {
            return Err(TrainError::LightGbm(format!("parameter `{k}` has an unusable value `{value}`")));
        }
        parts.push(format!("{k}={value}"));
    }
    Ok((parts.join(" "), iterations))
}

/// `params` with its objective (and any alpha) replaced: LightGBM keeps the first of
/// repeated keys, so appending is not enough.
fn with_objective(params: &str, objective: &str) -> String {
    // LightGBM renews quantile leaf outputs from residuals and ignores linear leaves then,
    // which leaves a linear-tree quantile model nearly constant: quantile models use plain trees.
    const OBJECTIVE_KEYS: &[&str] =
        &["objective", "objective_type", "app", "application", "loss", "alpha", "linear_tree", "linear_trees"];
    let mut kept: Vec<&str> = params
        .split_whitespace()
        .filter(|kv| kv.split_once('=').is_none_or(|(k, _)| !OBJECTIVE_KEYS.contains(&k)))
        .collect();
    kept.push(objective);
    kept.join(" ")
}

fn params_map(params: &str) -> BTreeMap<String, String> {
    params.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// LightGBM's own predictions for row-major rows.
fn predict(model_text: &str, rows: &[f64], n_features: usize) -> Result<Vec<f64>, TrainError> {
    let booster = lightgbm3::Booster::from_string(model_text).map_err(|e| TrainError::LightGbm(e.to_string()))?;
    booster
        .predict_with_params(rows, n_features as i32, true, "num_threads=1")
        .map_err(|e| TrainError::LightGbm(e.to_string()))
}

/// Baselines for each feature, each numeric schema field, and the prediction, keyed as
/// drift targets print: `set.feature`, `schema.field`, `model.prediction`; and the training
/// values of the numeric ones, for `ks(exact)`.
fn baselines(
    plan: &ModelPlan,
    features: &CompiledFeatures,
    events: &[&[Value]],
    rows: &[f64],
    pred: &[f64],
) -> (BTreeMap<String, Baseline>, ReferenceSamples) {
    let nf = features.len();
    let mut out = BTreeMap::new();
    let mut samples = ReferenceSamples::default();
    for (i, name) in features.names.iter().enumerate() {
        let key = format!("{}.{name}", plan.features.name);
        if features.types[i] == FeatureType::Category {
            let cells: Vec<Cell<'_>> = events.iter().map(|e| features.cell(i, e)).collect();
            let texts = cells.iter().filter_map(|c| match c {
                Cell::Text(t) => Some(t.as_ref()),
                _ => None,
            });
            out.insert(key, baseline::categorical(texts));
        } else {
            let column: Vec<f64> = rows.chunks(nf).map(|r| r[i]).collect();
            if let Some(b) = baseline::numeric(&column) {
                samples.insert(key.clone(), &column);
                out.insert(key, b);
            }
        }
    }
    for (j, field) in plan.schema.fields.iter().enumerate() {
        if field.name == plan.model.label {
            continue;
        }
        let key = format!("{}.{}", plan.schema.name, field.name);
        if field.ty.is_numeric() {
            let column: Vec<f64> = events.iter().filter_map(|e| e.get(j).and_then(Value::as_f64)).collect();
            if let Some(b) = baseline::numeric(&column) {
                samples.insert(key.clone(), &column);
                out.insert(key, b);
            }
        } else if matches!(field.ty, crate::program::FieldType::Category(_) | crate::program::FieldType::Bool) {
            let texts: Vec<String> = events
                .iter()
                .filter_map(|e| match e.get(j) {
                    Some(Value::Text(t)) => Some(t.clone()),
                    Some(Value::Bool(b)) => Some(b.to_string()),
                    _ => None,
                })
                .collect();
            out.insert(key, baseline::categorical(texts.iter().map(String::as_str)));
        }
    }
    if let Some(b) = baseline::numeric(pred) {
        let key = format!("{}.prediction", plan.model.name);
        samples.insert(key.clone(), pred);
        out.insert(key, b);
    }
    (out, samples)
}

fn data_hash(a: &[f64], ay: &[f64], b: &[f64], by: &[f64]) -> String {
    let mut h = Sha256::new();
    for part in [a, ay, b, by] {
        for x in part {
            h.update(x.to_le_bytes());
        }
    }
    format!("{:x}", h.finalize())
}
