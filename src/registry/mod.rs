//! The versioned model registry. A version is immutable: LightGBM's `model.txt`, the quantile
//! models and `meta.json`, each file checked against its SHA-256 before it is served; `production`
//! and `candidate` name versions, and every production move is recorded so `rollback` can walk back.
//!
//! Two backends implement [`Registry`]: a directory (the default, [`DirectoryRegistry`]) and an
//! MLflow tracking server over its REST API ([`MlflowRegistry`]), where the pointers are MLflow's
//! model aliases and each version is a real MLflow Model.

mod directory;
mod durable;
mod error;
mod history;
pub mod meta;
pub mod mlflow;
mod names;
mod pointer;
mod validate;
mod verify;

#[cfg(test)]
mod tests;

pub use directory::DirectoryRegistry;
pub use error::{RegistryError, Result};
pub use history::{HistoryEntry, MoveAction};
pub use mlflow::MlflowRegistry;
pub use names::{validate_name, MAX_NAME_LEN};
pub use pointer::Pointer;
pub use verify::{sha256_hex, META_FILE, MODEL_FILE};

use crate::program::RegistrySpec;
use meta::ModelMeta;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where model versions are stored and which one is in production.
///
/// Every method blocks (a backend may talk to a server): call it from a plain thread or
/// `spawn_blocking`, never on an async runtime's thread.
pub trait Registry: Send + Sync + std::fmt::Debug {
    /// Where the registry is, for messages: a directory or a tracking URL.
    fn location(&self) -> String;

    /// Answers whether the registry can be used now; a directory always can.
    fn check_reachable(&self) -> Result<()> {
        Ok(())
    }

    /// Stores `files` (name, bytes; not `meta.json`) and `meta` as the next version of `name` and returns it.
    ///
    /// Sets `meta.name`, `meta.version`, `meta.checksums` (and `meta.created` when empty). The new
    /// version becomes the candidate, and production too when the model has none.
    fn register(&self, name: &str, files: &[(String, Vec<u8>)], meta: ModelMeta) -> Result<u32>;

    /// Every model with its versions and pointers, by name.
    fn list(&self) -> Result<Vec<ModelSummary>>;

    /// Every version of `name`, ascending, each checked against its checksums.
    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>>;

    /// The parsed `meta.json` of a version, without checking its files (see `load` for that).
    fn meta(&self, name: &str, version: u32) -> Result<ModelMeta>;

    /// Reads a version and checks every file against its checksum; a corrupt version is an error naming the file.
    fn load(&self, name: &str, version: u32) -> Result<LoadedVersion>;

    /// The production version of `name`, if it has one.
    fn production(&self, name: &str) -> Result<Option<u32>>;

    /// The candidate version of `name`, if it has one.
    fn candidate(&self, name: &str) -> Result<Option<u32>>;

    /// Every production move of `name`, oldest first.
    fn history(&self, name: &str) -> Result<Vec<HistoryEntry>>;

    /// Makes `version` production after checking it loads cleanly; a corrupt version is refused.
    fn promote(&self, name: &str, version: u32, reason: &str) -> Result<()>;

    /// Moves production back to the previous intact production version and returns it.
    fn rollback(&self, name: &str, reason: &str) -> Result<u32>;
}

/// The registry a model declares: a directory, or an MLflow server (`experiment` is where
/// training runs are logged).
pub fn open(spec: &RegistrySpec) -> Result<Arc<dyn Registry>> {
    Ok(match spec {
        RegistrySpec::Directory { path } => Arc::new(DirectoryRegistry::open(path)),
        RegistrySpec::Mlflow { url, experiment, .. } => Arc::new(MlflowRegistry::new(
            &mlflow::tracking_url(url.as_deref()),
            experiment.as_deref().unwrap_or(mlflow::DEFAULT_EXPERIMENT),
        )?),
    })
}

/// A registry named on the command line: an `http(s)://` URL is an MLflow server, anything else a directory.
pub fn open_location(location: &str) -> Result<Arc<dyn Registry>> {
    if location.starts_with("http://") || location.starts_with("https://") {
        open(&RegistrySpec::Mlflow { url: Some(location.to_string()), name: None, experiment: None })
    } else {
        open(&RegistrySpec::Directory { path: location.to_string() })
    }
}

/// One model: its versions and pointers.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSummary {
    /// The model name.
    pub name: String,
    /// Every version, ascending.
    pub versions: Vec<u32>,
    /// The production version, if any.
    pub production: Option<u32>,
    /// The candidate version, if any.
    pub candidate: Option<u32>,
}

/// One version as `versions` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionInfo {
    /// The version number.
    pub version: u32,
    /// When it was trained (RFC 3339), when `meta.json` is readable.
    pub created: Option<String>,
    /// Its holdout metrics, when `meta.json` is readable.
    pub metrics: Option<meta::HoldoutMetrics>,
    /// The pointers that point at it.
    pub pointers: Vec<Pointer>,
    /// Whether every file matches its checksum.
    pub status: VersionStatus,
}

/// Whether a version is intact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionStatus {
    /// Every file is present and matches its checksum.
    Ok,
    /// The first problem found: the file (relative to the version directory) and why.
    Corrupt { file: String, reason: String },
}

/// A verified version: its metadata and every file it lists, by file name.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedVersion {
    /// The parsed `meta.json`.
    pub meta: ModelMeta,
    /// File name → bytes, each matching its checksum.
    pub files: BTreeMap<String, Vec<u8>>,
}
