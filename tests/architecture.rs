//! The layout ARCHITECTURE.md describes stays true: no two modules of `src/` import each other
//! (neither top-level modules, such as `registry` and `model`, nor sibling files of one folder,
//! such as `engine/drift.rs` and `engine/runtime.rs`), and the module map names every file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The code of a file without its test module and comment lines.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

/// The identifiers that follow `prefix` in `text` (`crate::registry::...` → `registry`).
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let after = &rest[i + prefix.len()..];
        let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        if len > 0 {
            out.insert(after[..len].to_string());
        }
        rest = &after[len..];
    }
    out
}

fn loops(deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for (a, targets) in deps {
        for b in targets {
            if a < b && deps.get(b).is_some_and(|t| t.contains(a)) {
                out.push(format!("{a} <-> {b}"));
            }
        }
    }
    out
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let src = root().join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let top =
            relative.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        let used = names_after(&code(&file), "crate::");
        deps.entry(top.clone()).or_default().extend(used.into_iter().filter(|m| *m != top));
    }
    assert!(deps.contains_key("engine") && deps.contains_key("registry"), "{deps:?}");
    let found = loops(&deps);
    assert!(found.is_empty(), "modules that import each other: {found:?}");
}

#[test]
fn no_two_files_of_a_folder_import_each_other() {
    let src = root().join("src");
    let mut folders: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for file in rust_files(&src) {
        folders.entry(file.parent().unwrap().to_path_buf()).or_default().push(file);
    }
    let mut found = Vec::new();
    for (folder, files) in &folders {
        let module = folder.strip_prefix(&src).unwrap().to_string_lossy().replace('/', "::");
        let names: BTreeSet<String> =
            files.iter().map(|f| f.file_stem().unwrap().to_string_lossy().into_owned()).collect();
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let me = file.file_stem().unwrap().to_string_lossy().into_owned();
            let text = code(file);
            let mut used = names_after(&text, "super::");
            if !module.is_empty() {
                used.extend(names_after(&text, &format!("crate::{module}::")));
            }
            deps.entry(me.clone()).or_default().extend(used.into_iter().filter(|n| names.contains(n) && *n != me));
        }
        found.extend(loops(&deps).into_iter().map(|l| format!("{}: {l}", folder.display())));
    }
    assert!(found.is_empty(), "files that import each other: {found:?}");
}

/// The files the module map lists: the `src/` block of ARCHITECTURE.md, one `name.rs` line per
/// file, indented under its folder (`  engine/`, `    train/`).
fn mapped_files(map: &str) -> BTreeSet<String> {
    let block =
        map.split("```\nsrc/\n").nth(1).expect("the module map starts with ```src/").split("```").next().unwrap();
    let mut folders: Vec<(usize, String)> = Vec::new();
    let mut out = BTreeSet::new();
    for line in block.lines() {
        let indent = line.len() - line.trim_start().len();
        let Some(first) = line.split_whitespace().next() else { continue };
        if indent < 2 || indent % 2 == 1 || indent > 8 {
            continue; // a continuation line of a description
        }
        folders.retain(|(depth, _)| *depth < indent);
        if let Some(folder) = first.strip_suffix('/') {
            if indent == 2 || !folders.is_empty() {
                folders.push((indent, folder.to_string()));
            }
        } else if first.ends_with(".rs") {
            let mut path: Vec<&str> = folders.iter().map(|(_, f)| f.as_str()).collect();
            path.push(first);
            out.insert(path.join("/"));
        }
    }
    out
}

#[test]
fn the_module_map_lists_exactly_the_files_there_are() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let src = root().join("src");
    let actual: BTreeSet<String> =
        rust_files(&src).iter().map(|f| f.strip_prefix(&src).unwrap().to_string_lossy().into_owned()).collect();
    let mapped = mapped_files(&map);
    let missing: Vec<&String> = actual.difference(&mapped).collect();
    let stale: Vec<&String> = mapped.difference(&actual).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's module map lacks {missing:?} and lists files that do not exist: {stale:?}"
    );
}
