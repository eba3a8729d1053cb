//! The directory backend: `<root>/<name>/<version>/` holds `model.txt`, the quantile models
//! and `meta.json`; `production` and `candidate` point at versions; `history.jsonl` records every
//! production move so `rollback` can walk back.
//!
//! Versions are written to a hidden staging directory and appear under their number by one
//! directory rename, so a reader never sees a half-written version and concurrent writers, threads
//! or processes, never share a number. Pointers are replaced by rename, and pointer moves are
//! serialized by a lock file so the history matches the pointer.

use super::error::{io, RegistryError, Result};
use super::history::{self, HistoryEntry, MoveAction};
use super::meta::ModelMeta;
use super::names::{self, validate_name};
use super::pointer::{self, Pointer};
use super::verify::{self, META_FILE};
use super::{durable, validate, LoadedVersion, ModelSummary, Registry, VersionInfo, VersionStatus};
use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// File whose lock serializes pointer moves of one model across threads and processes.
const LOCK_FILE: &str = ".lock";
/// Prefix of the directories a version is written into before it gets its number.
pub(super) const STAGING_PREFIX: &str = ".staging-";

/// A registry rooted at a directory; cheap to create, holds no open files.
#[derive(Clone, Debug)]
pub struct DirectoryRegistry {
    root: PathBuf,
}

impl DirectoryRegistry {
    /// A registry at `root`; the directory is created by the first `register`.
    pub fn open(root: impl AsRef<Path>) -> DirectoryRegistry {
        DirectoryRegistry { root: root.as_ref().to_path_buf() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one version.
    pub fn version_dir(&self, name: &str, version: u32) -> PathBuf {
        self.root.join(name).join(version.to_string())
    }

    /// The production version and when its pointer was last written: one open and read, cheap to poll.
    pub fn production_stamp(&self, name: &str) -> Result<Option<(u32, SystemTime)>> {
        let dir = self.model_dir(name)?;
        pointer::read(name, &dir, Pointer::Production)
    }

    /// The directory of an existing model.
    fn model_dir(&self, name: &str) -> Result<PathBuf> {
        validate_name(name)?;
        let dir = self.root.join(name);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(RegistryError::ModelNotFound { name: name.to_string(), path: dir })
        }
    }

    fn create_model_dir(&self, name: &str, dir: &Path) -> Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(dir).map_err(io(name, "create", dir))?;
        durable::sync_dir(&self.root).map_err(io(name, "sync", &self.root))
    }
}

impl Registry for DirectoryRegistry {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    /// Stores `files` (name, bytes; not `meta.json`) and `meta` as the next version of `name` and returns it.
    ///
    /// Sets `meta.name`, `meta.version`, `meta.checksums` (and `meta.created` when empty). The new
    /// version becomes the candidate, and production too when the model has none.
    fn register(&self, name: &str, files: &[(String, Vec<u8>)], meta: ModelMeta) -> Result<u32> {
        validate_name(name)?;
        let mut meta = validate::prepare(name, files, meta)?;

        let dir = self.root.join(name);
        self.create_model_dir(name, &dir)?;
        let staging = dir.join(format!("{STAGING_PREFIX}{}", durable::unique_suffix()));
        fs::create_dir(&staging).map_err(io(name, "create staging directory", &staging))?;
        let published = publish(name, &dir, &staging, files, &mut meta);
        if published.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        let version = published?;

        let _lock = lock(name, &dir)?;
        let candidate = pointer::read(name, &dir, Pointer::Candidate)?.map(|(v, _)| v);
        // Concurrent registers finish in any order; the newest version stays the candidate.
        if candidate.is_none_or(|c| c < version) {
            pointer::write(name, &dir, Pointer::Candidate, version)?;
        }
        if pointer::read(name, &dir, Pointer::Production)?.is_none() {
            pointer::write(name, &dir, Pointer::Production, version)?;
            let entry = history::move_entry(None, version, MoveAction::Initial, "first version of the model");
            history::append(&dir.join(history::HISTORY_FILE), &entry).map_err(io(name, "append to", &dir))?;
        }
        Ok(version)
    }

    /// Every model with its versions and pointers, by name; an absent root is an empty registry.
    fn list(&self) -> Result<Vec<ModelSummary>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("*", "list", &self.root)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io("*", "list", &self.root))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else { continue };
            if validate_name(&name).is_err() || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let dir = entry.path();
            out.push(ModelSummary {
                versions: version_numbers(&name, &dir)?,
                production: pointer::read(&name, &dir, Pointer::Production)?.map(|(v, _)| v),
                candidate: pointer::read(&name, &dir, Pointer::Candidate)?.map(|(v, _)| v),
                name,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every version of `name`, ascending, each checked against its checksums.
    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let dir = self.model_dir(name)?;
        let production = pointer::read(name, &dir, Pointer::Production)?.map(|(v, _)| v);
        let candidate = pointer::read(name, &dir, Pointer::Candidate)?.map(|(v, _)| v);
        let mut out = Vec::new();
        for version in version_numbers(name, &dir)? {
            let vdir = dir.join(version.to_string());
            let (created, metrics, checked) = match verify::read_meta(name, version, &vdir) {
                Ok(meta) => {
                    let checked = verify::verify_files(name, version, &vdir, &meta).map(drop);
                    (Some(meta.created), Some(meta.metrics), checked)
                }
                Err(e) => (None, None, Err(e)),
            };
            let status = match checked {
                Ok(()) => VersionStatus::Ok,
                Err(RegistryError::Corrupt { file, reason, .. }) => VersionStatus::Corrupt { file, reason },
                Err(e) => return Err(e),
            };
            let pointers = [(Pointer::Production, production), (Pointer::Candidate, candidate)]
                .into_iter()
                .filter(|&(_, v)| v == Some(version))
                .map(|(p, _)| p)
                .collect();
            out.push(VersionInfo { version, created, metrics, pointers, status });
        }
        Ok(out)
    }

    /// The parsed `meta.json` of a version, without checking its files (see `load` for that).
    fn meta(&self, name: &str, version: u32) -> Result<ModelMeta> {
        let dir = self.model_dir(name)?;
        verify::read_meta(name, version, &dir.join(version.to_string()))
    }

    /// Reads a version and checks every file against its checksum; a corrupt version is an error naming the file.
    fn load(&self, name: &str, version: u32) -> Result<LoadedVersion> {
        let dir = self.model_dir(name)?.join(version.to_string());
        let meta = verify::read_meta(name, version, &dir)?;
        let files = verify::verify_files(name, version, &dir, &meta)?;
        Ok(LoadedVersion { meta, files })
    }

    /// The production version of `name`, if it has one.
    fn production(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.production_stamp(name)?.map(|(v, _)| v))
    }

    /// The candidate version of `name`, if it has one.
    fn candidate(&self, name: &str) -> Result<Option<u32>> {
        let dir = self.model_dir(name)?;
        Ok(pointer::read(name, &dir, Pointer::Candidate)?.map(|(v, _)| v))
    }

    /// Every production move of `name`, oldest first.
    fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let dir = self.model_dir(name)?;
        let path = dir.join(history::HISTORY_FILE);
        history::read(&path).map_err(io(name, "read", path))
    }

    /// Makes `version` production after checking it loads cleanly; a corrupt version is refused.
    fn promote(&self, name: &str, version: u32, reason: &str) -> Result<()> {
        let dir = self.model_dir(name)?;
        self.load(name, version)?;
        let _lock = lock(name, &dir)?;
        let from = pointer::read(name, &dir, Pointer::Production)?.map(|(v, _)| v);
        if from == Some(version) {
            return Ok(());
        }
        // Pointer before history: after a crash in between, rollback still finds `from` on top of the history.
        pointer::write(name, &dir, Pointer::Production, version)?;
        let entry = history::move_entry(from, version, MoveAction::Promote, reason);
        history::append(&dir.join(history::HISTORY_FILE), &entry).map_err(io(name, "append to", &dir))
    }

    /// Moves production back to the previous intact production version and returns it.
    fn rollback(&self, name: &str, reason: &str) -> Result<u32> {
        let dir = self.model_dir(name)?;
        let _lock = lock(name, &dir)?;
        let current = pointer::read(name, &dir, Pointer::Production)?
            .map(|(v, _)| v)
            .ok_or_else(|| RegistryError::NoProduction { name: name.to_string() })?;
        let history_path = dir.join(history::HISTORY_FILE);
        let entries = history::read(&history_path).map_err(io(name, "read", &history_path))?;
        let mut stack = history::production_stack(&entries);
        let mut skipped = Vec::new();
        let target = loop {
            match stack.pop() {
                None => return Err(RegistryError::NoRollbackTarget { name: name.to_string(), skipped }),
                Some(v) if v == current || skipped.contains(&v) => {}
                Some(v) => match self.load(name, v) {
                    Ok(_) => break v,
                    Err(RegistryError::Corrupt { .. } | RegistryError::VersionNotFound { .. }) => skipped.push(v),
                    Err(e) => return Err(e),
                },
            }
        };
        pointer::write(name, &dir, Pointer::Production, target)?;
        let entry = history::move_entry(Some(current), target, MoveAction::Rollback, reason);
        history::append(&history_path, &entry).map_err(io(name, "append to", &dir))?;
        Ok(target)
    }
}

/// Writes the files and `meta.json` into `staging`, then renames it to the first free version number.
fn publish(name: &str, dir: &Path, staging: &Path, files: &[(String, Vec<u8>)], meta: &mut ModelMeta) -> Result<u32> {
    for (file, bytes) in files {
        let path = staging.join(file);
        durable::write_new_synced(&path, bytes).map_err(io(name, "write", path))?;
    }
    let meta_path = staging.join(META_FILE);
    let mut tried = 0;
    loop {
        let version = next_version(name, dir, tried)?;
        tried = version;
        meta.version = version;
        let json = serde_json::to_vec_pretty(meta)
            .map_err(|e| RegistryError::InvalidMeta { name: name.to_string(), reason: e.to_string() })?;
        // A retry rewrites meta.json with the new number; the staging directory is still private.
        let _ = fs::remove_file(&meta_path);
        durable::write_new_synced(&meta_path, &json).map_err(io(name, "write", &meta_path))?;
        durable::sync_dir(staging).map_err(io(name, "sync", staging))?;
        let target = dir.join(version.to_string());
        match fs::rename(staging, &target) {
            Ok(()) => {
                durable::sync_dir(dir).map_err(io(name, "sync", dir))?;
                return Ok(version);
            }
            // Another writer took this number first (its directory is non-empty, so rename refused).
            Err(_) if fs::symlink_metadata(&target).is_ok() => continue,
            Err(e) => return Err(io(name, "rename staging directory to", target)(e)),
        }
    }
}

/// One past the highest existing version and past `tried`.
fn next_version(name: &str, dir: &Path, tried: u32) -> Result<u32> {
    let highest = version_numbers(name, dir)?.last().copied().unwrap_or(0).max(tried);
    highest.checked_add(1).ok_or_else(|| RegistryError::VersionsExhausted { name: name.into(), path: dir.into() })
}

/// The version directories of a model, ascending; staging directories and other entries are ignored.
fn version_numbers(name: &str, dir: &Path) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(name, "list", dir))? {
        let entry = entry.map_err(io(name, "list", dir))?;
        if let Some(v) = entry.file_name().to_str().and_then(names::parse_version) {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(v);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Takes the model's pointer lock; it is released when the returned file is dropped.
fn lock(name: &str, dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let f = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io(name, "open", &path))?;
    f.lock().map_err(io(name, "lock", &path))?;
    Ok(f)
}
