//! `schema` declarations: field types, optional marks, value ranges.

use super::Checker;
use crate::ast::{FieldType as AstType, SchemaDecl};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::program::{Field, FieldType, Schema};
use std::collections::HashMap;

const TYPES: &[&str] = &["f64", "i64", "str", "bool"];

/// Type names from other languages, and the field type they mean here.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("float32", "f64"),
    ("float64", "f64"),
    ("double", "f64"),
    ("number", "f64"),
    ("decimal", "f64"),
    ("integer", "i64"),
    ("int32", "i64"),
    ("int64", "i64"),
    ("long", "i64"),
    ("text", "str"),
    ("boolean", "bool"),
];

/// A field type in words, for messages: "text (`str`)".
pub(super) fn type_in_words(ty: &FieldType) -> String {
    match ty {
        FieldType::F64 => "a number (`f64`)".into(),
        FieldType::I64 => "a whole number (`i64`)".into(),
        FieldType::Str => "text (`str`)".into(),
        FieldType::Bool => "a boolean (`bool`)".into(),
        FieldType::Category(values) => format!("a category of {} values", values.len()),
    }
}

impl Checker<'_> {
    pub(super) fn schema(&mut self, s: &SchemaDecl) {
        let mut fields = Vec::new();
        let mut seen: HashMap<&str, crate::ast::Span> = HashMap::new();
        for f in &s.fields {
            if let Some(prev) = seen.insert(&f.name.node, f.name.span) {
                self.error(
                    Diagnostic::new(
                        Code::DuplicateName,
                        f.name.span,
                        format!("field `{}` is declared twice", f.name.node),
                    )
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
                                .hint(
                                    TYPE_ALIASES
                                        .iter()
                                        .find(|(alias, _)| alias.eq_ignore_ascii_case(other))
                                        .map(|(_, ty)| format!("write `{ty}`"))
                                        .or_else(|| did_you_mean(other, TYPES.iter().copied()))
                                        .unwrap_or_else(|| {
                                            "field types are f64, i64, str, bool and category(\"a\", \"b\", ...)".into()
                                        }),
                                ),
                        );
                        continue;
                    }
                },
                AstType::Category(values) => {
                    let repeated = values.iter().enumerate().find(|(i, v)| values[..*i].contains(v));
                    if let Some((_, value)) = repeated {
                        self.error(
                            Diagnostic::new(
                                Code::DuplicateName,
                                f.ty.span,
                                format!("the category lists {value:?} twice"),
                            )
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
                                format!("only numeric fields have ranges; `{}` is {}", f.name.node, type_in_words(&ty)),
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
