//! `history.jsonl`: one line per move of the `production` pointer, the memory `rollback` walks.

use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::SystemTime;

/// File name of the history inside a model directory.
pub const HISTORY_FILE: &str = "history.jsonl";

/// Why the production pointer moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveAction {
    /// The first registered version became production because there was none.
    Initial,
    /// `promote` moved it.
    Promote,
    /// `rollback` moved it back.
    Rollback,
}

/// One move of the production pointer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// RFC 3339, UTC.
    pub time: String,
    /// The production version before the move, if there was one.
    pub from: Option<u32>,
    /// The production version after the move.
    pub to: u32,
    /// What moved it.
    pub action: MoveAction,
    /// The reason given by whoever moved it.
    pub reason: String,
}

/// Reads every entry; a line cut short by a crash mid-append is skipped, as its move is also in the pointer.
pub fn read(path: &Path) -> io::Result<Vec<HistoryEntry>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// Appends one entry as a single write and flushes it.
pub fn append(path: &Path, entry: &HistoryEntry) -> io::Result<()> {
    let mut f = OpenOptions::new().read(true).append(true).create(true).open(path)?;
    let mut line = serde_json::to_string(entry).map_err(io::Error::other)?;
    line.push('\n');
    // A torn last line would swallow this entry into it; start a fresh line instead.
    let len = f.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            line.insert(0, '\n');
        }
    }
    f.write_all(line.as_bytes())?;
    f.sync_data()
}

/// The production versions in the order they were stacked: promotions push, rollbacks pop back to their target.
pub fn production_stack(entries: &[HistoryEntry]) -> Vec<u32> {
    let mut stack = Vec::new();
    for e in entries {
        match e.action {
            MoveAction::Initial | MoveAction::Promote => stack.push(e.to),
            MoveAction::Rollback => {
                // A rollback may have skipped corrupt versions; drop everything above its target.
                while stack.last().is_some_and(|&top| top != e.to) {
                    stack.pop();
                }
                if stack.is_empty() {
                    stack.push(e.to);
                }
            }
        }
    }
    stack
}

/// A history entry stamped now.
pub fn move_entry(from: Option<u32>, to: u32, action: MoveAction, reason: &str) -> HistoryEntry {
    HistoryEntry { time: now_rfc3339(), from, to, action, reason: reason.to_string() }
}

/// The current time, RFC 3339 with milliseconds, UTC.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}
