//! Errors of loading and running a model, shared by LightGBM's own predictor and the
//! compiled evaluator.

use thiserror::Error;

/// Why a model could not be loaded or could not predict.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ModelError {
    /// The model text is not a LightGBM model or is damaged; `line` is 1-based.
    #[error("model text, line {line}: {message}")]
    Parse { line: usize, message: String },

    /// A well-formed model uses something this evaluator does not implement.
    #[error("unsupported model: {0}")]
    Unsupported(String),

    /// A LightGBM C API call failed; `message` is `LGBM_GetLastError`'s text.
    #[error("LightGBM {call} failed: {message}")]
    LightGbm { call: &'static str, message: String },

    /// Rows have a different number of features than the model reads.
    #[error("the model reads {expected} features, the rows have {got}")]
    FeatureCount { expected: usize, got: usize },

    /// The row buffer, the feature count and the output buffer disagree.
    #[error("{values} values are not {rows} rows of {n_features} features (one per output slot)")]
    Shape { values: usize, rows: usize, n_features: usize },

    /// More rows in one call than LightGBM's C API takes (its row count is an `i32`).
    #[error("{0} rows in one call, LightGBM takes at most 2^31 - 1")]
    TooManyRows(usize),
}

impl ModelError {
    /// A parse error at `line` (1-based).
    pub(crate) fn parse(line: usize, message: impl Into<String>) -> Self {
        ModelError::Parse { line, message: message.into() }
    }
}

/// Checks that `rows` holds exactly `out_len` rows of `n_features` values, and that
/// `n_features` is what the model reads.
pub(crate) fn check_shape(expected: usize, rows: usize, n_features: usize, out_len: usize) -> Result<(), ModelError> {
    if n_features != expected {
        return Err(ModelError::FeatureCount { expected, got: n_features });
    }
    if out_len.checked_mul(n_features) != Some(rows) {
        return Err(ModelError::Shape { values: rows, rows: out_len, n_features });
    }
    Ok(())
}
