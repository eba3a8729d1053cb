//! Models: training with LightGBM, holdout metrics against a linear baseline, drift
//! baselines, and inference (LightGBM's own predictor or the compiled evaluator).

pub mod meta;

pub use meta::ModelMeta;
