//! What can go wrong in the registry, with the model, version and path in every message.

use std::path::PathBuf;

/// A registry failure; every message names the model and, where there is one, the version and path.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The model name is not 1–64 characters of `[A-Za-z0-9_-]`.
    #[error("invalid model name `{name}`: {why}")]
    InvalidName { name: String, why: &'static str },
    /// A file handed to `register` cannot be stored as given.
    #[error("model `{name}`: cannot register file `{file}`: {why}")]
    InvalidFile { name: String, file: String, why: String },
    /// The metadata handed to `register` would not read back from `meta.json`.
    #[error("model `{name}`: cannot store meta.json: {reason}")]
    InvalidMeta { name: String, reason: String },
    /// There is no directory for the model.
    #[error("model `{name}` not found: no directory {}", path.display())]
    ModelNotFound { name: String, path: PathBuf },
    /// There is no directory for the version.
    #[error("model `{name}` has no version {version}: no directory {}", path.display())]
    VersionNotFound { name: String, version: u32, path: PathBuf },
    /// A version's files do not match its `meta.json`, or `meta.json` itself is missing or unreadable.
    #[error("model `{name}` version {version} is corrupt: {file}: {reason} ({})", path.display())]
    Corrupt { name: String, version: u32, file: String, reason: String, path: PathBuf },
    /// A `production` or `candidate` pointer file holds something other than a version number.
    #[error("model `{name}`: pointer {} does not hold a version number (it holds {content:?})", path.display())]
    BadPointer { name: String, path: PathBuf, content: String },
    /// `rollback` found no earlier, intact production version.
    #[error("model `{name}`: no earlier production version to roll back to{}", skipped_note(.skipped))]
    NoRollbackTarget { name: String, skipped: Vec<u32> },
    /// `rollback` was asked for a model that has no production version.
    #[error("model `{name}` has no production version to roll back from")]
    NoProduction { name: String },
    /// Every version number up to `u32::MAX` is taken.
    #[error("model `{name}`: no version numbers left in {}", path.display())]
    VersionsExhausted { name: String, path: PathBuf },
    /// The MLflow tracking server did not answer.
    #[error("{reason}; is `mlflow server` running there?")]
    Unreachable { location: String, reason: String },
    /// The MLflow tracking server answered a call with an error.
    #[error("MLflow at {location}: cannot {action}: {reason}")]
    Server { location: String, action: String, reason: String },
    /// A model version in MLflow that housing-flow cannot serve (not LightGBM, no feature names...).
    #[error("model `{name}` version {version} cannot be served: {reason}")]
    Unservable { name: String, version: u32, reason: String },
    /// A file system operation failed.
    #[error("model `{name}`: cannot {action} {}: {source}", path.display())]
    Io { name: String, action: &'static str, path: PathBuf, source: std::io::Error },
}

fn skipped_note(skipped: &[u32]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = skipped.iter().map(u32::to_string).collect();
        format!(
            " (skipped corrupt or missing version{} {})",
            if skipped.len() == 1 { "" } else { "s" },
            list.join(", ")
        )
    }
}

/// Shorthand for registry results.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// Attaches the model name, the action and the path to an I/O error.
pub(super) fn io(
    name: &str,
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> RegistryError {
    let name = name.to_string();
    let path = path.into();
    move |source| RegistryError::Io { name, action, path, source }
}
