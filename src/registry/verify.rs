//! Reading a version back and checking every file against the checksums in its `meta.json`.

use super::error::{io, RegistryError, Result};
use super::meta::ModelMeta;
use super::names::file_name_problem;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

/// The metadata file of every version.
pub const META_FILE: &str = "meta.json";
/// The main model file every version must have.
pub const MODEL_FILE: &str = "model.txt";

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn corrupt(name: &str, version: u32, dir: &Path, file: &str, reason: String) -> RegistryError {
    RegistryError::Corrupt { name: name.to_string(), version, file: file.to_string(), reason, path: dir.join(file) }
}

/// Reads and parses `meta.json` and checks it describes this model and version; files are not checked.
pub fn read_meta(name: &str, version: u32, dir: &Path) -> Result<ModelMeta> {
    if !dir.is_dir() {
        return Err(RegistryError::VersionNotFound { name: name.to_string(), version, path: dir.to_path_buf() });
    }
    let path = dir.join(META_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(corrupt(name, version, dir, META_FILE, "missing".into()));
        }
        Err(e) => return Err(io(name, "read", path)(e)),
    };
    let meta: ModelMeta = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(name, version, dir, META_FILE, format!("not a valid model description: {e}")))?;
    if meta.name != name {
        return Err(corrupt(name, version, dir, META_FILE, format!("it describes model `{}`", meta.name)));
    }
    if meta.version != version {
        return Err(corrupt(name, version, dir, META_FILE, format!("it describes version {}", meta.version)));
    }
    Ok(meta)
}

/// Reads every file `meta.checksums` lists and checks its hash; the first problem is the error.
pub fn verify_files(name: &str, version: u32, dir: &Path, meta: &ModelMeta) -> Result<BTreeMap<String, Vec<u8>>> {
    let required = std::iter::once(MODEL_FILE).chain(meta.quantiles.iter().map(|q| q.file.as_str()));
    for file in required {
        if !meta.checksums.contains_key(file) {
            return Err(corrupt(name, version, dir, META_FILE, format!("it has no checksum for `{file}`")));
        }
    }
    let mut files = BTreeMap::new();
    for (file, expected) in &meta.checksums {
        // meta.json is data from disk: a name like `../x` must not make us read outside the version.
        if let Some(why) = file_name_problem(file) {
            return Err(corrupt(name, version, dir, META_FILE, format!("it lists file `{file}`, but {why}")));
        }
        let path = dir.join(file);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(corrupt(name, version, dir, file, "missing".into()));
            }
            Err(e) => return Err(io(name, "read", path)(e)),
        };
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(expected) {
            let reason = format!(
                "checksum mismatch (altered, truncated or half-written): meta.json has {expected}, the file's {} bytes hash to {actual}",
                bytes.len()
            );
            return Err(corrupt(name, version, dir, file, reason));
        }
        files.insert(file.clone(), bytes);
    }
    Ok(files)
}
