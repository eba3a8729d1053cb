//! The `production` and `candidate` pointers: small files holding a version number.

use super::durable;
use super::error::{io, RegistryError, Result};
use super::names::parse_version;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::time::SystemTime;

/// A named pointer to a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pointer {
    /// The version the pipeline serves.
    Production,
    /// The newest registered version, waiting for promotion.
    Candidate,
}

impl Pointer {
    /// Both pointers.
    pub const ALL: [Pointer; 2] = [Pointer::Production, Pointer::Candidate];

    /// The pointer's file name inside the model directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Pointer::Production => "production",
            Pointer::Candidate => "candidate",
        }
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// The version the pointer holds and when it was last moved; `None` when the pointer does not exist.
pub fn read(model: &str, model_dir: &Path, pointer: Pointer) -> Result<Option<(u32, SystemTime)>> {
    let path = model_dir.join(pointer.file_name());
    let mut f = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(model, "open pointer", &path)(e)),
    };
    // Content and time come from the same open file, so they always belong to the same move.
    let modified = f.metadata().and_then(|m| m.modified()).map_err(io(model, "stat pointer", &path))?;
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(io(model, "read pointer", &path))?;
    match parse_version(text.trim()) {
        Some(v) => Ok(Some((v, modified))),
        None => Err(RegistryError::BadPointer { name: model.to_string(), path, content: text }),
    }
}

/// Points `pointer` at `version`; readers see the old or the new number, never a partial write.
pub fn write(model: &str, model_dir: &Path, pointer: Pointer, version: u32) -> Result<()> {
    durable::replace_atomically(model_dir, pointer.file_name(), format!("{version}\n").as_bytes()).map_err(io(
        model,
        "move pointer",
        model_dir.join(pointer.file_name()),
    ))
}
