//! Checks every backend makes before it stores a version.

use super::error::{RegistryError, Result};
use super::history;
use super::meta::ModelMeta;
use super::names;
use super::verify::{sha256_hex, META_FILE, MODEL_FILE};
use std::collections::BTreeSet;

/// What every backend does before it stores a version: checks the files, then stamps `meta`
/// with the name, the files' checksums and (when empty) the creation time, and checks that it
/// reads back.
pub(super) fn prepare(name: &str, files: &[(String, Vec<u8>)], mut meta: ModelMeta) -> Result<ModelMeta> {
    check_files(name, files, &meta)?;
    meta.name = name.to_string();
    meta.checksums = files.iter().map(|(f, b)| (f.clone(), sha256_hex(b))).collect();
    if meta.created.is_empty() {
        meta.created = history::now_rfc3339();
    }
    check_meta_round_trips(name, &meta)?;
    Ok(meta)
}

/// Refuses file lists that would escape the version directory, collide, or miss a file `meta` names.
fn check_files(name: &str, files: &[(String, Vec<u8>)], meta: &ModelMeta) -> Result<()> {
    let invalid = |file: &str, why: String| RegistryError::InvalidFile { name: name.into(), file: file.into(), why };
    let mut seen = BTreeSet::new();
    for (file, _) in files {
        if let Some(why) = names::file_name_problem(file) {
            return Err(invalid(file, why.to_string()));
        }
        if file == META_FILE {
            return Err(invalid(file, "the registry writes meta.json itself".into()));
        }
        if !seen.insert(file.as_str()) {
            return Err(invalid(file, "it is listed twice".into()));
        }
    }
    let required = std::iter::once(MODEL_FILE).chain(meta.quantiles.iter().map(|q| q.file.as_str()));
    for file in required {
        if !seen.contains(file) {
            return Err(invalid(file, "it is required but not among the files".into()));
        }
    }
    Ok(())
}

/// serde_json writes NaN as `null`, which then fails to parse: refuse now rather than store a version that reads back corrupt.
fn check_meta_round_trips(name: &str, meta: &ModelMeta) -> Result<()> {
    let invalid = |reason: String| RegistryError::InvalidMeta { name: name.to_string(), reason };
    let json = serde_json::to_vec(meta).map_err(|e| invalid(e.to_string()))?;
    serde_json::from_slice::<ModelMeta>(&json)
        .map_err(|e| invalid(format!("it would not read back ({e}); is a metric not a finite number?")))?;
    Ok(())
}
