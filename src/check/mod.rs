//! AST → checked, typed program. Resolves names across `use`d files, checks types
//! and units, and collects every problem instead of stopping at the first.

mod auction;
mod conditions;
mod drift;
mod features;
mod loader;
mod model;
mod pipeline;
mod scenario;
mod schema;
mod values;

pub use loader::{normalize, Disk, FileSource, MemoryFiles};

use crate::ast::{Decl, DeclKind, FileId, Ident, Module, Span};
use crate::diagnostics::{did_you_mean, Code, Diagnostic, Diagnostics, SourceMap};
use crate::program::Program;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What checking a file produced.
pub struct Checked {
    /// Every file read, for rendering diagnostics.
    pub map: SourceMap,
    /// Errors and warnings, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The program, when there were no errors.
    pub program: Option<Program>,
    /// Declarations the language accepts but `run` cannot carry out yet (each a
    /// `NotAvailable` error): commands that run the program refuse it before any work.
    pub unavailable: Vec<Diagnostic>,
}

impl Checked {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Checks a file on disk. `Err` when the file itself cannot be read.
pub fn check_file(path: &Path) -> std::io::Result<Checked> {
    check_with(&Disk, path)
}

/// Checks a file from any [`FileSource`].
pub fn check_with(fs: &dyn FileSource, path: &Path) -> std::io::Result<Checked> {
    let mut map = SourceMap::new();
    let mut diags = Vec::new();
    let loaded = loader::load(fs, path, &mut map, &mut diags)?;
    let mut cx = Checker::new(&map);
    cx.diags.extend(diags);
    // `modules` lists used files before their users; the entry file is last.
    let mut files: Vec<String> = loaded.modules.iter().map(|(id, _)| map.get(*id).name.clone()).collect();
    files.reverse();
    cx.program.files = files;
    cx.program.uses = loaded.uses.clone();
    cx.run(&loaded.modules);
    let diagnostics = cx.diags.sorted();
    let program = if diagnostics.iter().any(Diagnostic::is_error) { None } else { Some(cx.program) };
    let unavailable = cx.unavailable;
    Ok(Checked { map, diagnostics, program, unavailable })
}

/// Checks source text given directly (tests, fuzzing); `use` is resolved against `files`.
pub fn check_source(name: &str, text: &str) -> Checked {
    let mut files = MemoryFiles::default();
    files.0.insert(normalize(Path::new(name)), text.to_string());
    check_with(&files, Path::new(name)).expect("the entry is in memory")
}

/// The declarations of each kind, gathered across files.
#[derive(Default)]
pub(crate) struct Decls<'a> {
    pub all: Vec<&'a Decl>,
}

impl<'a> Decls<'a> {
    fn of<T>(&self, pick: impl Fn(&'a Decl) -> Option<&'a T>) -> Vec<&'a T> {
        self.all.iter().filter_map(|d| pick(d)).collect()
    }
}

/// What a name refers to: one of the kinds of named declaration (`ast::DeclKind`).
pub(crate) use crate::ast::DeclKind as Kind;

/// What the checker says about the kinds of declaration that have names.
impl DeclKind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Schema => "a schema",
            Kind::Source => "a source",
            Kind::Features => "a features block",
            Kind::Model => "a model",
            Kind::Drift => "a drift monitor",
            Kind::Sink => "a sink",
            Kind::Scenario => "a scenario",
            Kind::Auction => "an auction",
            Kind::Use | Kind::Serve | Kind::Slo | Kind::Guardrail => "a declaration",
        }
    }

    /// The kind a declaration keyword declares, when such declarations have names (none for
    /// `use`, `serve`, `slo`, `guardrail`).
    fn named(keyword: &str) -> Option<Kind> {
        DeclKind::from_keyword(keyword).filter(|k| !matches!(k, Kind::Use | Kind::Serve | Kind::Slo | Kind::Guardrail))
    }

    fn of(d: &Decl) -> Option<Kind> {
        Kind::named(d.keyword())
    }
}

/// The checker's state: the global scope, the program being built, the diagnostics.
pub struct Checker<'a> {
    map: &'a SourceMap,
    diags: Diagnostics,
    scope: HashMap<String, (Kind, Span)>,
    /// Declarations that did not parse or check: lookups that fail because of them are
    /// not reported again.
    broken: HashSet<String>,
    /// Features whose definitions have errors.
    broken_features: HashSet<String>,
    program: Program,
    /// What `run` cannot do yet (see [`Checked::unavailable`]).
    unavailable: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn new(map: &'a SourceMap) -> Self {
        Checker {
            map,
            diags: Diagnostics::default(),
            scope: HashMap::new(),
            broken: HashSet::new(),
            broken_features: HashSet::new(),
            program: Program::default(),
            unavailable: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A path written in `file`, resolved against that file's folder (as `use` is), so a
    /// pipeline means the same files whatever the working directory. Absolute paths stay.
    pub(crate) fn file_relative(&self, file: FileId, path: &str) -> String {
        let p = Path::new(path);
        if p.is_absolute() {
            return path.to_string();
        }
        let dir = Path::new(&self.map.get(file).name).parent().unwrap_or(Path::new(""));
        let joined = normalize(&dir.join(p));
        if joined.as_os_str().is_empty() {
            ".".to_string()
        } else {
            joined.display().to_string()
        }
    }

    /// `run` predicts with one model per source: a second model on the same schema is refused
    /// there (it still checks, and `train --model NAME` trains it).
    fn one_model_per_schema(&mut self, decls: &[&crate::ast::ModelDecl]) {
        let mut first: HashMap<String, String> = HashMap::new();
        for m in self.program.models.clone() {
            let Some(schema) = self.program.feature_set(&m.features).map(|f| f.schema.clone()) else { continue };
            match first.get(&schema) {
                None => {
                    first.insert(schema, m.name.clone());
                }
                Some(prev) => {
                    if let Some(d) = decls.iter().find(|d| d.name.node == m.name) {
                        let what = format!("a second model on schema `{schema}` (`{prev}` is the first)");
                        self.not_available(d.name.span, &what, "`run` predicts with one model per source");
                    }
                }
            }
        }
    }

    /// Records a declaration `run` cannot carry out yet.
    pub(crate) fn not_available(&mut self, span: Span, what: &str, when: &str) {
        self.unavailable.push(
            Diagnostic::new(Code::NotAvailable, span, format!("{what} is not available yet"))
                .label("not available yet")
                .hint(format!("`check` and `explain` accept it; {when}")),
        );
    }

    fn run(&mut self, modules: &[(FileId, Module)]) {
        let decls = Decls { all: modules.iter().flat_map(|(_, m)| m.decls.iter()).collect() };
        self.declare(&decls);
        // Names of declarations with syntax errors: known, so their uses are not reported too.
        for (keyword, name) in modules.iter().flat_map(|(_, m)| m.unparsed.iter()) {
            if let (Some(kind), false) = (Kind::named(keyword), self.scope.contains_key(&name.node)) {
                self.scope.insert(name.node.clone(), (kind, name.span));
                self.broken.insert(name.node.clone());
            }
        }
        for s in decls.of(|d| if let Decl::Schema(s) = d { Some(s) } else { None }) {
            self.schema(s);
        }
        for s in decls.of(|d| if let Decl::Source(s) = d { Some(s) } else { None }) {
            self.source(s);
        }
        for f in decls.of(|d| if let Decl::Features(f) = d { Some(f) } else { None }) {
            self.features(f);
        }
        let models = decls.of(|d| if let Decl::Model(m) = d { Some(m) } else { None });
        for m in &models {
            self.model(m);
        }
        self.one_model_per_schema(&models);
        for d in decls.of(|d| if let Decl::Drift(x) = d { Some(x) } else { None }) {
            self.drift(d);
        }
        for s in decls.of(|d| if let Decl::Sink(s) = d { Some(s) } else { None }) {
            self.sink(s);
        }
        let serves = decls.of(|d| if let Decl::Serve(s) = d { Some(s) } else { None });
        for (i, s) in serves.iter().enumerate() {
            if i > 0 {
                self.error(
                    Diagnostic::new(Code::Conflict, s.span, "a program serves HTTP once")
                        .label("second `serve`")
                        .also(serves[0].span, "first `serve`"),
                );
            } else {
                self.serve(s);
            }
        }
        for s in decls.of(|d| if let Decl::Slo(s) = d { Some(s) } else { None }) {
            if let Some(c) = self.condition(&s.condition, conditions::Context::Slo) {
                self.program.slos.push(c);
            }
        }
        for g in decls.of(|d| if let Decl::Guardrail(g) = d { Some(g) } else { None }) {
            self.guardrail(g);
        }
        for s in decls.of(|d| if let Decl::Scenario(s) = d { Some(s) } else { None }) {
            self.scenario(s);
        }
        for a in decls.of(|d| if let Decl::Auction(a) = d { Some(a) } else { None }) {
            self.auction(a);
        }
    }

    /// Enters every named declaration into the one global namespace.
    fn declare(&mut self, decls: &Decls<'_>) {
        for d in &decls.all {
            let (Some(name), Some(kind)) = (d.name(), Kind::of(d)) else { continue };
            if let Some((prev_kind, prev)) = self.scope.get(&name.node).copied() {
                self.error(
                    Diagnostic::new(Code::DuplicateName, name.span, format!("`{}` is declared twice", name.node))
                        .label(format!("{} named `{}` again", kind.describe(), name.node))
                        .also(prev, format!("first declared here as {}", prev_kind.describe()))
                        .hint("names share one namespace across all `use`d files; rename one"),
                );
                continue;
            }
            self.scope.insert(name.node.clone(), (kind, name.span));
        }
    }

    /// Resolves a name that must refer to a declaration of `kind`.
    pub(crate) fn resolve(&mut self, name: &Ident, kind: Kind) -> bool {
        match self.scope.get(&name.node).copied() {
            // Its declaration has a syntax error, reported already.
            Some((k, _)) if k == kind && self.broken.contains(&name.node) => false,
            Some((k, _)) if k == kind => true,
            Some((k, span)) => {
                self.error(
                    Diagnostic::new(
                        Code::WrongKind,
                        name.span,
                        format!("`{}` is {}, not {}", name.node, k.describe(), kind.describe()),
                    )
                    .label(format!("expected {}", kind.describe()))
                    .also(span, "declared here")
                    .maybe_hint(self.suggest(&name.node, kind)),
                );
                false
            }
            None => {
                let hint = self.suggest(&name.node, kind);
                self.error(
                    Diagnostic::new(
                        Code::UnknownName,
                        name.span,
                        format!(
                            "no {} named `{}`",
                            kind.describe().trim_start_matches("a ").trim_start_matches("an "),
                            name.node
                        ),
                    )
                    .label("not declared")
                    .maybe_hint(hint),
                );
                false
            }
        }
    }

    /// Whether a schema or features block did not parse: fields and features may then be
    /// missing for that reason alone, and lookups of them fail without a report.
    pub(crate) fn fields_incomplete(&self) -> bool {
        self.broken.iter().any(|n| matches!(self.scope.get(n), Some((Kind::Schema | Kind::Features, _))))
    }

    fn suggest(&self, name: &str, kind: Kind) -> Option<String> {
        did_you_mean(name, self.scope.iter().filter(|(_, (k, _))| *k == kind).map(|(n, _)| n.as_str()))
    }

    /// Records a statement that may appear once per block; reports a repeat and returns false.
    pub(crate) fn once(&mut self, seen: &mut HashMap<&'static str, Span>, what: &'static str, span: Span) -> bool {
        if let Some(prev) = seen.insert(what, span) {
            self.error(
                Diagnostic::new(Code::BadStatement, span, format!("`{what}` is given twice"))
                    .label("again here")
                    .also(prev, "first given here")
                    .hint(format!("keep one `{what}`")),
            );
            seen.insert(what, prev);
            return false;
        }
        true
    }

    pub(crate) fn names_of(&self, kind: Kind) -> Vec<String> {
        let mut v: Vec<String> = self.scope.iter().filter(|(_, (k, _))| *k == kind).map(|(n, _)| n.clone()).collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests;
