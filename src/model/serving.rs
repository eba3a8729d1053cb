//! A model ready to serve: the compiled features, the category codes and the predictors
//! of one registry version, behind a handle that a running process can swap atomically.

use super::compiled::CompiledModel;
use super::error::ModelError;
use super::native::LightgbmModel;
use super::predictor::Predictor;
use super::reference::{ReferenceSamples, REFERENCE_FILE};
use crate::data::Value;
use crate::features::{CategoryMaps, CompiledFeatures};
use crate::program::{FeatureSet, PredictorKind};
use crate::registry::meta::ModelMeta;
use crate::registry::{LoadedVersion, Registry, RegistryError};
use arc_swap::ArcSwap;
use std::sync::Arc;

/// Why a version could not be made ready to serve.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("model `{name}` v{version}, {file}: {source}")]
    Model { name: String, version: u32, file: String, source: ModelError },
    #[error("model `{name}` v{version} was trained on features [{trained}], but the pipeline computes [{declared}]")]
    Incompatible { name: String, version: u32, trained: String, declared: String },
    #[error("model `{name}` v{version}: {message}")]
    Invalid { name: String, version: u32, message: String },
    #[error("model `{0}` has no production version; train one with `housing-flow train`")]
    NoProduction(String),
}

/// One prediction: the estimate, the interval of the lowest and highest quantile models,
/// and the version that made it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    pub estimate: f64,
    pub interval: Option<[f64; 2]>,
    pub version: u32,
}

/// One registry version, loaded.
pub struct ServingModel {
    pub meta: ModelMeta,
    pub features: CompiledFeatures,
    pub categories: CategoryMaps,
    estimate: Box<dyn Predictor>,
    bounds: Option<(Box<dyn Predictor>, Box<dyn Predictor>)>,
    /// For a model logged outside housing-flow whose columns are the declared features in
    /// another order: the declared column each model column reads.
    permutation: Option<Vec<usize>>,
    /// The training values of the numeric drift targets (empty for versions that lack them).
    pub reference: ReferenceSamples,
}

impl std::fmt::Debug for ServingModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingModel").field("name", &self.meta.name).field("version", &self.meta.version).finish()
    }
}

impl ServingModel {
    /// Builds a serving model from a loaded version and the pipeline's feature set, which
    /// must be the features the version was trained on, in the same order.
    pub fn from_version(set: &FeatureSet, loaded: LoadedVersion, kind: PredictorKind) -> Result<Self, LoadError> {
        let meta = loaded.meta;
        let (name, version) = (meta.name.clone(), meta.version);
        let features = CompiledFeatures::compile(set).map_err(|message| LoadError::Invalid {
            name: name.clone(),
            version,
            message,
        })?;
        let trained: Vec<&str> = meta.features.iter().map(|f| f.name.as_str()).collect();
        let permutation = match_features(&meta, &trained, &features).map_err(|message| {
            if message.is_empty() {
                LoadError::Incompatible {
                    name: name.clone(),
                    version,
                    trained: trained.join(", "),
                    declared: features.names.join(", "),
                }
            } else {
                LoadError::Invalid { name: name.clone(), version, message }
            }
        })?;
        let categories = CategoryMaps::from_values(&features, meta.categories.clone());
        let predictor = |file: &str| -> Result<Box<dyn Predictor>, LoadError> {
            let bytes = loaded.files.get(file).ok_or_else(|| LoadError::Invalid {
                name: name.clone(),
                version,
                message: format!("`{file}` is missing"),
            })?;
            let text = std::str::from_utf8(bytes).map_err(|_| LoadError::Invalid {
                name: name.clone(),
                version,
                message: format!("`{file}` is not text"),
            })?;
            let model: Result<Box<dyn Predictor>, ModelError> = match kind {
                PredictorKind::Compiled => CompiledModel::from_text(text).map(|m| Box::new(m) as Box<dyn Predictor>),
                PredictorKind::Lightgbm => LightgbmModel::from_text(text).map(|m| Box::new(m) as Box<dyn Predictor>),
            };
            let model =
                model.map_err(|source| LoadError::Model { name: name.clone(), version, file: file.into(), source })?;
            if model.num_features() != features.len() {
                return Err(LoadError::Invalid {
                    name: name.clone(),
                    version,
                    message: format!(
                        "`{file}` reads {} features, the pipeline computes {}",
                        model.num_features(),
                        features.len()
                    ),
                });
            }
            Ok(model)
        };
        let estimate = predictor(crate::registry::MODEL_FILE)?;
        let bounds = match (meta.quantiles.first(), meta.quantiles.last()) {
            (Some(lo), Some(hi)) if meta.quantiles.len() >= 2 => Some((predictor(&lo.file)?, predictor(&hi.file)?)),
            _ => None,
        };
        let reference = match loaded.files.get(REFERENCE_FILE) {
            Some(bytes) => ReferenceSamples::decode(bytes).map_err(|message| LoadError::Invalid {
                name: name.clone(),
                version,
                message,
            })?,
            None => ReferenceSamples::default(),
        };
        Ok(ServingModel { meta, features, categories, estimate, bounds, permutation, reference })
    }

    /// Loads the production version of `name` from a registry.
    pub fn production(
        registry: &dyn Registry,
        name: &str,
        set: &FeatureSet,
        kind: PredictorKind,
    ) -> Result<Self, LoadError> {
        let version = registry.production(name)?.ok_or_else(|| LoadError::NoProduction(name.to_string()))?;
        Self::from_version(set, registry.load(name, version)?, kind)
    }

    pub fn version(&self) -> u32 {
        self.meta.version
    }

    /// Feature rows (row-major) for events.
    pub fn rows<'a>(&self, events: impl IntoIterator<Item = &'a [Value]>) -> Vec<f64> {
        self.features.eval_rows(events, &self.categories)
    }

    /// Predictions for feature rows.
    pub fn predict_rows(&self, rows: &[f64]) -> Result<Vec<Prediction>, ModelError> {
        let nf = self.features.len();
        let permuted;
        let rows = match &self.permutation {
            None => rows,
            Some(order) => {
                permuted =
                    rows.chunks_exact(nf.max(1)).flat_map(|row| order.iter().map(|&i| row[i])).collect::<Vec<_>>();
                &permuted
            }
        };
        let n = rows.len() / nf.max(1);
        let mut est = vec![0.0; n];
        self.estimate.predict(rows, nf, &mut est)?;
        let interval = match &self.bounds {
            Some((lo, hi)) => {
                let (mut l, mut h) = (vec![0.0; n], vec![0.0; n]);
                lo.predict(rows, nf, &mut l)?;
                hi.predict(rows, nf, &mut h)?;
                Some(l.into_iter().zip(h).map(|(a, b)| ordered(a, b)).collect::<Vec<_>>())
            }
            None => None,
        };
        let version = self.meta.version;
        Ok(est
            .into_iter()
            .enumerate()
            .map(|(i, estimate)| Prediction { estimate, interval: interval.as_ref().map(|v| v[i]), version })
            .collect())
    }

    /// One event's prediction, without the buffers of a batch (an HTTP request's).
    pub fn predict_event(&self, event: &[Value]) -> Result<Prediction, ModelError> {
        const ON_STACK: usize = 32;
        let nf = self.features.len();
        if nf > ON_STACK || self.permutation.is_some() {
            return Ok(self.predict_events([event])?.remove(0));
        }
        let mut row = [0.0; ON_STACK];
        let row = &mut row[..nf];
        self.features.eval_into(event, &self.categories, row);
        let one = |model: &dyn Predictor| -> Result<f64, ModelError> {
            let mut out = [0.0];
            model.predict(row, nf, &mut out)?;
            Ok(out[0])
        };
        let estimate = one(self.estimate.as_ref())?;
        let interval = match &self.bounds {
            Some((lo, hi)) => Some(ordered(one(lo.as_ref())?, one(hi.as_ref())?)),
            None => None,
        };
        Ok(Prediction { estimate, interval, version: self.meta.version })
    }

    /// Predictions for events.
    pub fn predict_events<'a>(
        &self,
        events: impl IntoIterator<Item = &'a [Value]>,
    ) -> Result<Vec<Prediction>, ModelError> {
        self.predict_rows(&self.rows(events))
    }
}

/// An interval from its two quantile estimates, ordered: quantile models are trained apart and
/// can cross.
fn ordered(a: f64, b: f64) -> [f64; 2] {
    [a.min(b), a.max(b)]
}

/// How the model's columns map onto the declared features: `None` when they are the same in
/// the same order (every version housing-flow trains). A model logged elsewhere may read the
/// declared features in another order, but only numeric ones (its category codes are unknown).
/// An empty error means the sets differ in a way the caller reports as incompatible.
fn match_features(
    meta: &ModelMeta,
    trained: &[&str],
    features: &CompiledFeatures,
) -> Result<Option<Vec<usize>>, String> {
    if trained.iter().copied().eq(features.names.iter().map(String::as_str)) {
        return Ok(None);
    }
    if !meta.external {
        return Err(String::new());
    }
    let missing: Vec<&str> = trained.iter().copied().filter(|t| !features.names.iter().any(|n| n == t)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "it reads the features [{}], which the pipeline's features block does not compute (it computes [{}])",
            missing.join(", "),
            features.names.join(", ")
        ));
    }
    let unused: Vec<&str> = features.names.iter().map(String::as_str).filter(|n| !trained.contains(n)).collect();
    if !unused.is_empty() {
        return Err(format!(
            "it reads [{}], but the features block also computes [{}]; declare exactly the model's features",
            trained.join(", "),
            unused.join(", ")
        ));
    }
    let order: Vec<usize> =
        trained.iter().map(|t| features.names.iter().position(|n| n == t).unwrap_or_default()).collect();
    if let Some(&i) = order.iter().find(|&&i| features.types[i] == crate::program::FeatureType::Category) {
        return Err(format!(
            "feature `{}` is a category, and a model logged outside housing-flow carries no category codes",
            features.names[i]
        ));
    }
    Ok(Some(order))
}

/// The model a running process serves. Readers take a snapshot (`current`) and use it
/// for a whole batch; `swap` replaces it atomically, so no batch sees half of a version.
pub struct ModelHandle {
    current: ArcSwap<ServingModel>,
}

impl ModelHandle {
    pub fn new(model: ServingModel) -> Self {
        ModelHandle { current: ArcSwap::from_pointee(model) }
    }

    /// The model to use for one batch or request.
    pub fn current(&self) -> Arc<ServingModel> {
        self.current.load_full()
    }

    /// Replaces the model; returns the one replaced.
    pub fn swap(&self, model: ServingModel) -> Arc<ServingModel> {
        self.current.swap(Arc::new(model))
    }

    /// Swaps in the registry's production version if it differs from the one served.
    /// Returns the new version when it swapped.
    pub fn refresh(
        &self,
        registry: &dyn Registry,
        set: &FeatureSet,
        kind: PredictorKind,
    ) -> Result<Option<u32>, LoadError> {
        let name = self.current().meta.name.clone();
        let Some(production) = registry.production(&name)? else { return Ok(None) };
        if production == self.current().version() {
            return Ok(None);
        }
        let model = ServingModel::from_version(set, registry.load(&name, production)?, kind)?;
        self.swap(model);
        Ok(Some(production))
    }
}
