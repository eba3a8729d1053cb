//! What the parse-tree visitors share: the file, the offset of the parsed slice, the
//! diagnostics, and turning pest spans into AST spans.

use super::literal::unescape;
use super::Rule;
use crate::ast::{FileId, Ident, Span, Spanned};
use crate::diagnostics::Diagnostic;
use pest::iterators::Pair;

/// What the visitors share: the file, the byte offset of the parsed slice, and the
/// diagnostics list (literals can be malformed even when the grammar matched).
pub(crate) struct Ctx<'a> {
    pub file: FileId,
    pub base: usize,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// The span of a pair, without the whitespace and comments pest lets a rule that
    /// ends in `x*` or `x?` take after its last token.
    pub fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        let end = s.start() + significant_len(s.as_str());
        Span::new(self.file, self.base + s.start(), self.base + end)
    }

    pub fn ident(&self, p: &Pair<'_, Rule>) -> Ident {
        Spanned::new(p.as_str().to_string(), self.span(p))
    }

    pub fn string(&self, p: Pair<'_, Rule>) -> Spanned<String> {
        let span = self.span(&p);
        let body = p.into_inner().next().map_or("", |b| b.as_str());
        Spanned::new(unescape(body), span)
    }
}

/// The length of `text` without trailing whitespace and `#` comments (a `#` in a string
/// starts no comment).
fn significant_len(text: &str) -> usize {
    let trimmed = text.trim_end();
    let last_line = trimmed.rfind('\n').map_or(0, |i| i + 1);
    if !trimmed[last_line..].contains('#') {
        return trimmed.len();
    }
    let (mut end, mut in_string, mut escaped, mut in_comment) = (0, false, false, false);
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
            end = i + c.len_utf8();
        } else if c == '#' {
            in_comment = true;
        } else if !c.is_whitespace() {
            in_string = c == '"';
            end = i + c.len_utf8();
        }
    }
    end
}
