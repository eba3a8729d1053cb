//! Which model names, file names and directory names the registry accepts.

use super::error::RegistryError;

/// Longest model name.
pub const MAX_NAME_LEN: usize = 64;
/// Longest stored file name.
const MAX_FILE_LEN: usize = 128;

/// Accepts 1–64 characters of `[A-Za-z0-9_-]`; anything else (separators, `..`) could leave the root.
pub fn validate_name(name: &str) -> Result<(), RegistryError> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.len() > MAX_NAME_LEN {
        "it is longer than 64 characters"
    } else if name.contains(['/', '\\']) || name.contains("..") {
        "it contains a path separator or `..`"
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        "only letters, digits, `_` and `-` are allowed"
    } else {
        return Ok(());
    };
    Err(RegistryError::InvalidName { name: name.to_string(), why })
}

/// Why a file name cannot live in a version directory, or `None` when it can.
///
/// A leading dot is refused because the registry's own temporary and staging names start with one.
pub fn file_name_problem(file: &str) -> Option<&'static str> {
    if file.is_empty() {
        Some("the name is empty")
    } else if file.len() > MAX_FILE_LEN {
        Some("the name is longer than 128 characters")
    } else if file.contains(['/', '\\']) || file.contains("..") {
        Some("the name contains a path separator or `..`")
    } else if file.starts_with('.') {
        Some("the name starts with `.`")
    } else if !file.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        Some("only letters, digits, `_`, `-` and `.` are allowed")
    } else {
        None
    }
}

/// The version a directory entry names: canonical decimal from 1, so `01` or `.staging-…` are not versions.
pub fn parse_version(entry: &str) -> Option<u32> {
    let v: u32 = entry.parse().ok()?;
    (v >= 1 && v.to_string() == entry).then_some(v)
}
