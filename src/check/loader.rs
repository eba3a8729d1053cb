//! Reads the entry file and every file it `use`s (relative to the using file),
//! parses each once, and reports cycles and unreadable files.

use crate::ast::{AuctionStmt, Decl, FileId, Module, ScenarioStmt, UseDecl};
use crate::diagnostics::{Code, Diagnostic, SourceMap};
use crate::syntax::parse_module;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where file text comes from: the file system, or a map in tests and fuzzing.
pub trait FileSource {
    fn read(&self, path: &Path) -> std::io::Result<String>;
}

/// Reads from disk.
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// In-memory files by path.
#[derive(Default)]
pub struct MemoryFiles(pub HashMap<PathBuf, String>);

impl FileSource for MemoryFiles {
    fn read(&self, path: &Path) -> std::io::Result<String> {
        self.0
            .get(&normalize(path))
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }
}

/// `a/./b/../c` → `a/c`, without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                // `a/..` cancels; a leading `..` (or one after another) stays.
                let ends_in_parent = matches!(out.components().next_back(), Some(std::path::Component::ParentDir));
                if ends_in_parent || !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The parsed files, entry first, with their ids.
pub struct Loaded {
    pub modules: Vec<(FileId, Module)>,
    /// (file, a file it uses), by name.
    pub uses: Vec<(String, String)>,
}

/// Loads `entry` and its `use`s. `Err` only when the entry itself cannot be read.
pub fn load(
    fs: &dyn FileSource,
    entry: &Path,
    map: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Result<Loaded, std::io::Error> {
    let text = fs.read(entry)?;
    let entry = normalize(entry);
    let mut loader =
        Loader { fs, map, diags, modules: Vec::new(), ids: HashMap::new(), stack: Vec::new(), uses: Vec::new() };
    loader.visit(entry, text);
    Ok(Loaded { modules: loader.modules, uses: loader.uses })
}

struct Loader<'a> {
    fs: &'a dyn FileSource,
    map: &'a mut SourceMap,
    diags: &'a mut Vec<Diagnostic>,
    modules: Vec<(FileId, Module)>,
    ids: HashMap<PathBuf, FileId>,
    stack: Vec<PathBuf>,
    uses: Vec<(String, String)>,
}

impl Loader<'_> {
    fn visit(&mut self, path: PathBuf, text: String) {
        let id = self.map.add(path.display().to_string(), text);
        self.ids.insert(path.clone(), id);
        let (module, errs) = parse_module(&self.map.get(id).text.clone(), id);
        self.diags.extend(errs);
        self.stack.push(path.clone());
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for u in uses(&module) {
            self.follow(&dir, u);
        }
        self.stack.pop();
        self.modules.push((id, module));
    }

    fn follow(&mut self, dir: &Path, u: &UseDecl) {
        let target = normalize(&dir.join(&u.path.node));
        if let Some(user) = self.stack.last() {
            self.uses.push((user.display().to_string(), target.display().to_string()));
        }
        if let Some(pos) = self.stack.iter().position(|p| *p == target) {
            let chain: Vec<String> =
                self.stack[pos..].iter().chain(std::iter::once(&target)).map(|p| p.display().to_string()).collect();
            self.diags.push(
                Diagnostic::new(Code::UseCycle, u.path.span, format!("`use` cycle: {}", chain.join(" → ")))
                    .label("this `use` closes the cycle")
                    .hint("move the shared declarations into a file that neither uses"),
            );
            return;
        }
        if self.ids.contains_key(&target) {
            return;
        }
        match self.fs.read(&target) {
            Ok(text) => self.visit(target, text),
            Err(e) => self.diags.push(
                Diagnostic::new(
                    Code::UnreadableFile,
                    u.path.span,
                    match e.kind() {
                        std::io::ErrorKind::NotFound => format!("cannot read `{}`: no such file", target.display()),
                        _ => format!("cannot read `{}`: {e}", target.display()),
                    },
                )
                .label("used here")
                .hint("paths in `use` are relative to the file that contains the `use`"),
            ),
        }
    }
}

/// Every `use` in a module, including those inside scenarios and auctions.
fn uses(module: &Module) -> Vec<&UseDecl> {
    let mut out = Vec::new();
    for d in &module.decls {
        match d {
            Decl::Use(u) => out.push(u),
            Decl::Scenario(s) => out.extend(s.stmts.iter().filter_map(|st| match st {
                ScenarioStmt::Use(u) => Some(u),
                _ => None,
            })),
            Decl::Auction(a) => out.extend(a.stmts.iter().filter_map(|st| match st {
                AuctionStmt::Use(u) => Some(u),
                _ => None,
            })),
            _ => {}
        }
    }
    out
}
