//! The interface shared by LightGBM's own predictor and the compiled evaluator.

use super::error::ModelError;

/// Batch prediction over row-major `f64` rows.
pub trait Predictor: Send + Sync {
    /// Number of features a row must have.
    fn num_features(&self) -> usize;

    /// Writes one prediction per row of `rows` (row-major, `n_features` wide) into `out`.
    fn predict(&self, rows: &[f64], n_features: usize, out: &mut [f64]) -> Result<(), ModelError>;
}
