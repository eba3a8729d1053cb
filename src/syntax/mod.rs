//! Source text → AST. pest parses one declaration at a time; after a syntax error the
//! parser skips to the next line that starts a declaration, so a file reports every
//! syntax error at once. Spans in the AST are byte offsets into the whole file.

mod ctx;
mod decls;
mod expr;
mod grammar;
mod literal;
mod syntax_error;

pub use grammar::{HfParser, Rule};

use crate::ast::{FileId, Ident, Module, Span};
use crate::diagnostics::Diagnostic;
use pest::iterators::Pairs;
use pest::Parser;

/// Words that can start a top-level declaration; recovery resumes at such a line.
pub use crate::ast::DECL_KEYWORDS;

/// Parses one file. Returns the declarations that parsed and a diagnostic for each that did not.
pub fn parse_module(src: &str, file: FileId) -> (Module, Vec<Diagnostic>) {
    let mut module = Module::default();
    let mut diags = Vec::new();
    let mut pos = skip_trivia(src, 0);
    while pos < src.len() {
        match HfParser::parse(Rule::one_decl, &src[pos..]) {
            Ok(pairs) => {
                let end = add_decl(pairs, pos, file, &mut module, &mut diags);
                pos = skip_trivia(src, end.max(pos + 1));
            }
            Err(err) => {
                // Parse again, recording which tokens were expected where the parse got
                // furthest. That costs time, so it is switched on at the first error only,
                // and left on: other threads may be reporting errors too.
                pest::set_error_detail(true);
                let err = HfParser::parse(Rule::one_decl, &src[pos..]).err().unwrap_or(err);
                let mut d = syntax_error::from_pest(err, src, pos, file);
                let line = src[..d.span.start].rfind('\n').map_or(0, |i| i + 1);
                let mut complete = false;
                if let Some(next) = run_in(src, pos, d.span.start) {
                    // It ran on into the next declaration; what it lacks shows when it is parsed alone.
                    if let Err(alone) = HfParser::parse(Rule::one_decl, &src[pos..next]) {
                        d = syntax_error::unfinished(alone, src, pos, next, file);
                    }
                } else if line > pos && line == d.span.start {
                    // Text in column 1 that starts no declaration: the one before it may be
                    // complete, and is kept.
                    if let Ok(pairs) = HfParser::parse(Rule::one_decl, &src[pos..line]) {
                        add_decl(pairs, pos, file, &mut module, &mut diags);
                        complete = true;
                    }
                }
                let at = d.span.start;
                diags.push(d);
                if let Some(named) = unparsed_name(src, pos, file).filter(|_| !complete) {
                    module.unparsed.push(named);
                }
                pos = skip_trivia(src, next_decl_start(src, pos, at));
            }
        }
    }
    (module, diags)
}

/// Adds the declaration `one_decl` parsed from `src[base..]`; returns where it ends.
fn add_decl(
    mut pairs: Pairs<'_, Rule>,
    base: usize,
    file: FileId,
    module: &mut Module,
    diags: &mut Vec<Diagnostic>,
) -> usize {
    let one = pairs.next().expect("one_decl always yields a pair");
    let end = base + one.as_span().end();
    let ctx = decls::Ctx { file, base, diags };
    if let Some(decl) = one.into_inner().next() {
        if let Some(d) = decls::decl(ctx, decl) {
            module.decls.push(d);
        }
    }
    end
}

fn starts_decl(line: &str) -> bool {
    let word: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    DECL_KEYWORDS.contains(&word.as_str())
}

/// The start of the first line after `decl`, up to `at`, that begins a declaration
/// (a keyword in column 1 and a space after it): where a declaration that failed at
/// `at` ran on into the next one.
fn run_in(src: &str, decl: usize, at: usize) -> Option<usize> {
    let at = at.min(src.len());
    let mut line_start = src[decl..at].find('\n').map(|i| decl + i + 1)?;
    while line_start <= at {
        let rest = &src[line_start..];
        let word = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if DECL_KEYWORDS.contains(&&rest[..word]) && rest[word..].starts_with([' ', '\t']) {
            return Some(line_start);
        }
        line_start = rest.find('\n').map(|i| line_start + i + 1)?;
    }
    None
}

/// The keyword and name of a declaration that did not parse (`source raw = ...`), so
/// that the checker knows the name and does not report its uses as undeclared.
fn unparsed_name(src: &str, decl: usize, file: FileId) -> Option<(String, Ident)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let rest = &src[decl..];
    let kw_len = rest.find(|c: char| !is_word(c))?;
    let keyword = &rest[..kw_len];
    if !DECL_KEYWORDS.contains(&keyword) {
        return None;
    }
    let gap = rest[kw_len..].find(|c: char| c != ' ' && c != '\t')?;
    let start = kw_len + gap;
    let len = rest[start..].find(|c: char| !is_word(c)).unwrap_or(rest.len() - start);
    let name = &rest[start..start + len];
    if gap == 0 || name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    Some((keyword.to_string(), Ident::new(name.to_string(), Span::new(file, decl + start, decl + start + len))))
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
