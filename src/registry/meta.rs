//! `meta.json`: everything needed to serve, monitor and audit one model version.

use crate::program::FeatureType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub name: String,
    pub version: u32,
    /// RFC 3339, UTC.
    pub created: String,
    /// Features in the order the model reads them.
    pub features: Vec<FeatureMeta>,
    /// Categorical feature → its categories; the code of a category is its position.
    pub categories: BTreeMap<String, Vec<String>>,
    pub label: String,
    /// LightGBM parameters as passed to it.
    pub params: BTreeMap<String, String>,
    /// Quantile models: alpha and file name (relative to the version directory).
    pub quantiles: Vec<QuantileFile>,
    pub training: TrainingInfo,
    pub metrics: HoldoutMetrics,
    /// Drift baselines per numeric feature, per categorical feature, and for `prediction`.
    pub baselines: BTreeMap<String, Baseline>,
    /// File name → SHA-256 of its bytes, to detect corrupt or half-written versions.
    pub checksums: BTreeMap<String, String>,
    /// Logged by another tool (e.g. `mlflow.lightgbm.log_model`) and described from its files:
    /// no training data, metrics, baselines or category codes are known.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureMeta {
    pub name: String,
    pub kind: FeatureType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantileFile {
    pub alpha: f64,
    pub file: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// What the data was: `generate(seed 7, 20000 rows)` or a CSV path.
    pub source: String,
    /// SHA-256 over the training feature rows and labels.
    pub data_hash: String,
    pub rows: usize,
    pub train_rows: usize,
    pub holdout_rows: usize,
    pub seed: u64,
    pub seconds: f64,
}

/// Holdout metrics of the model and of a linear baseline on the same split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HoldoutMetrics {
    pub r2: f64,
    pub rmse: f64,
    pub mae: f64,
    /// Fraction of holdout labels inside [lowest quantile, highest quantile]; None without quantiles.
    pub coverage: Option<f64>,
    /// Nominal coverage of that interval (highest − lowest alpha).
    pub nominal_coverage: Option<f64>,
    pub baseline_r2: f64,
    pub baseline_rmse: f64,
    pub baseline_mae: f64,
}

/// The reference distribution of one value, from the training rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Baseline {
    Numeric {
        /// Inner PSI bin edges (reference deciles): `bins − 1` values, outer bins open-ended.
        psi_edges: Vec<f64>,
        /// Reference proportion per PSI bin.
        psi_reference: Vec<f64>,
        /// 1,000-cell quantile grid for KS: value at quantile (k + 1) / 1000.
        ks_grid: Vec<f64>,
        count: usize,
    },
    Categorical {
        /// Category → reference proportion.
        proportions: BTreeMap<String, f64>,
        count: usize,
    },
}
