//! Train from a model's declared data and register the result: what `train` and `run`
//! (when the registry has no production version) both do.

use super::{train, TrainOptions};
use crate::data::load::training_events;
use crate::plan::ModelPlan;
use crate::program::SourceKind;
use crate::registry::meta::ModelMeta;
use crate::registry::Registry;

/// The registered version, its metadata, and the training rows that were rejected.
pub struct Registered {
    pub version: u32,
    pub meta: ModelMeta,
    pub rejected: Vec<String>,
}

/// Loads the data `spec` describes, trains `model` on it and registers the result.
pub fn train_and_register(model: &ModelPlan, spec: &SourceKind, registry: &dyn Registry) -> Result<Registered, String> {
    let loaded = training_events(spec, &model.schema)
        .map_err(|e| format!("cannot load training data for `{}`: {e}", model.model.name))?;
    let seed = match spec {
        SourceKind::Generate { seed, .. } => *seed,
        _ => 42,
    };
    tracing::info!(model = %model.model.name, rows = loaded.events.len(), "training on {}", loaded.description);
    let trained = train(model, &loaded.events, &TrainOptions { source: loaded.description.clone(), seed })
        .map_err(|e| format!("cannot train `{}`: {e}", model.model.name))?;
    let meta = trained.meta.clone();
    let version = registry
        .register(model.model.registered_name(), &trained.files, trained.meta)
        .map_err(|e| format!("cannot register `{}`: {e}", model.model.name))?;
    Ok(Registered { version, meta: ModelMeta { version, ..meta }, rejected: loaded.rejected })
}
