//! Models: training with LightGBM, holdout metrics against a linear baseline, drift
//! baselines, and inference (LightGBM's own predictor or the compiled evaluator).

pub mod baseline;
pub mod compiled;
pub mod error;
pub mod evaluate;
pub mod linear;
pub mod native;
pub mod predictor;
pub mod reference;
pub mod serving;
pub mod train;

pub use crate::registry::meta::ModelMeta;
pub use compiled::CompiledModel;
pub use error::ModelError;
pub use native::LightgbmModel;
pub use predictor::Predictor;
