//! Source text → AST. pest parses one declaration at a time; after a syntax error the
//! parser skips to the next line that starts a declaration, so a file reports every
//! syntax error at once. Spans in the AST are byte offsets into the whole file.

mod decls;
mod expr;
mod grammar;
mod literal;
mod syntax_error;

pub use grammar::{HfParser, Rule};

use crate::ast::{FileId, Module};
use crate::diagnostics::Diagnostic;
use pest::Parser;

/// Words that can start a top-level declaration; recovery resumes at such a line.
const DECL_KEYWORDS: &[&str] = &[
    "use", "schema", "source", "features", "model", "drift", "sink", "serve", "slo", "guardrail", "scenario",
    "auction",
];

/// Parses one file. Returns the declarations that parsed and a diagnostic for each that did not.
pub fn parse_module(src: &str, file: FileId) -> (Module, Vec<Diagnostic>) {
    // Record which tokens were expected at the furthest position, for error messages.
    pest::set_error_detail(true);
    let mut module = Module::default();
    let mut diags = Vec::new();
    let mut pos = skip_trivia(src, 0);
    while pos < src.len() {
        match HfParser::parse(Rule::one_decl, &src[pos..]) {
            Ok(mut pairs) => {
                let one = pairs.next().expect("one_decl always yields a pair");
                let end = pos + one.as_span().end();
                let ctx = decls::Ctx { file, base: pos, diags: &mut diags };
                if let Some(decl) = one.into_inner().next() {
                    if let Some(d) = decls::decl(ctx, decl) {
                        module.decls.push(d);
                    }
                }
                pos = skip_trivia(src, end.max(pos + 1));
            }
            Err(err) => {
                let d = syntax_error::from_pest(err, src, pos, file);
                let at = d.span.start;
                diags.push(d);
                pos = skip_trivia(src, next_decl_start(src, pos, at));
            }
        }
    }
    (module, diags)
}

fn starts_decl(line: &str) -> bool {
    let word: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    DECL_KEYWORDS.contains(&word.as_str())
}

/// Skips whitespace and comments.
fn skip_trivia(src: &str, mut pos: usize) -> usize {
    let bytes = src.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'#' => {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            }
            _ => break,
        }
    }
    pos
}

/// Where to resume after an error at `at` in the declaration starting at `decl`: the
/// first line after `decl` that begins (in column 1) with a declaration keyword.
fn next_decl_start(src: &str, decl: usize, at: usize) -> usize {
    let at = at.min(src.len());
    // The error may sit on the first token of the next declaration (a missing `}`).
    let own_line = src[..at].rfind('\n').map_or(0, |i| i + 1);
    if own_line > decl && starts_decl(&src[own_line..]) {
        return own_line;
    }
    let mut line_start = src[at..].find('\n').map_or(src.len(), |i| at + i + 1);
    while line_start < src.len() {
        let rest = &src[line_start..];
        if starts_decl(rest) {
            return line_start;
        }
        line_start = rest.find('\n').map_or(src.len(), |i| line_start + i + 1);
    }
    src.len()
}

#[cfg(test)]
mod tests;
