//! `schema` declarations: field types, optional marks, value ranges.

use super::Checker;
use crate::ast::{FieldType as AstType, SchemaDecl};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::program::{Field, FieldType, Schema};
use std::collections::HashMap;

const TYPES: &[&str] = &["f64", "i64", "str", "bool"];

impl Checker<'_> {
    pub(super) fn schema(&mut self, s: &SchemaDecl) {
        let mut fields = Vec::new();
        let mut seen: HashMap<&str, crate::ast::Span> = HashMap::new();
        for f in &s.fields {
            if let Some(prev) = seen.insert(&f.name.node, f.name.span) {
                self.error(
                    Diagnostic::new(Code::DuplicateName, f.name.span, format!("field `{}` is declared twice", f.name.node))
                        .label("again here")
                        .also(prev, "first here"),
                );
                continue;
            }
            let ty = match &f.ty.node {
                AstType::Named(n) => match n.as_str() {
                    "f64" | "float" => FieldType::F64,
                    "i64" | "int" => FieldType::I64,
                    "str" | "string" => FieldType::Str,
                    "bool" => FieldType::Bool,
                    other => {
                        self.error(
                            Diagnostic::new(Code::UnknownType, f.ty.span, format!("unknown type `{other}`"))
                                .label("not a field type")
                                .hint(did_you_mean(other, TYPES.iter().copied()).unwrap_or_else(|| {
                                    "field types are f64, i64, str, bool and category(\"a\", \"b\", ...)".into()
                                })),
                        );
                        continue;
                    }
                },
                AstType::Category(values) => {
                    let mut uniq = values.clone();
                    uniq.sort();
                    uniq.dedup();
                    if uniq.len() != values.len() {
                        self.error(
                            Diagnostic::new(Code::DuplicateName, f.ty.span, "a category lists a value twice")
                                .label("repeated value"),
                        );
                    }
                    FieldType::Category(values.clone())
                }
            };
            let range = match &f.range {
                None => None,
                Some((lo, hi)) => {
                    if !ty.is_numeric() {
                        self.error(
                            Diagnostic::new(
                                Code::TypeMismatch,
                                lo.span.to(hi.span),
                                format!("only numeric fields have ranges; `{}` is {}", f.name.node, ty.describe()),
                            )
                            .label("range on a non-numeric field"),
                        );
                        None
                    } else {
                        match (self.plain(lo, "a range bound"), self.plain(hi, "a range bound")) {
                            (Some(a), Some(b)) if a > b => {
                                self.error(
                                    Diagnostic::new(Code::OutOfRange, lo.span.to(hi.span), "the range is empty")
                                        .label(format!("{a} is greater than {b}"))
                                        .hint("write the low end first: `in lo .. hi`"),
                                );
                                None
                            }
                            (Some(a), Some(b)) => Some((a, b)),
                            _ => None,
                        }
                    }
                }
            };
            fields.push(Field { name: f.name.node.clone(), ty, optional: f.optional, range });
        }
        if s.fields.is_empty() {
            self.error(
                Diagnostic::new(Code::MissingDecl, s.name.span, format!("schema `{}` has no fields", s.name.node))
                    .label("empty schema"),
            );
        }
        self.program.schemas.push(Schema { name: s.name.node.clone(), fields });
    }
}
