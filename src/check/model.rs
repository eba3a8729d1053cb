//! `model` declarations: `lightgbm(FEATURES, label: FIELD) { registry, train, params, quantiles, ... }`.

use super::values::{as_call, as_name, describe_expr};
use super::{Checker, Kind};
use crate::ast::{ExprKind, ModelDecl, UnaryOp, Unit};
use crate::diagnostics::{did_you_mean, Code, Diagnostic};
use crate::program::{Model, ParamValue, PredictorKind, RegistrySpec};
use std::collections::BTreeMap;

const KEYS: &[&str] = &["registry", "train", "params", "quantiles", "holdout", "predictor"];

impl Checker<'_> {
    pub(super) fn model(&mut self, m: &ModelDecl) {
        let Some((callee, args)) = as_call(&m.value) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, m.value.span, "expected `lightgbm(FEATURES, label: FIELD)`")
                    .label(format!("found {}", describe_expr(&m.value))),
            );
            return;
        };
        if callee.node != "lightgbm" {
            self.error(
                Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown model kind `{}`", callee.node))
                    .label("not a model kind")
                    .hint(
                        did_you_mean(&callee.node, ["lightgbm"]).unwrap_or_else(|| "models are `lightgbm(...)`".into()),
                    ),
            );
            return;
        }
        let a = self.args(&callee, args, &["features"], &["label"]);
        let features = a.require(self, "features").and_then(|e| {
            let name = as_name(e);
            if name.is_none() {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, e.span, "expected the name of a features block")
                        .label(format!("found {}", describe_expr(e))),
                );
            }
            name.filter(|n| self.resolve(n, Kind::Features))
        });
        let label_expr = a.require(self, "label");
        let set = features.as_ref().and_then(|f| self.program.feature_set(&f.node).cloned());
        let label = match (label_expr, &set) {
            (Some(e), Some(set)) => self.label(e, set),
            _ => None,
        };

        let mut registry = None;
        let mut train = None;
        let mut params = BTreeMap::new();
        let mut quantiles = Vec::new();
        let mut holdout = 0.2;
        let mut predictor = PredictorKind::Compiled;
        let mut seen = BTreeMap::new();
        let mut ok = true;
        for p in &m.body {
            if let Some(prev) = seen.insert(p.key.node.clone(), p.key.span) {
                self.error(
                    Diagnostic::new(Code::DuplicateProperty, p.key.span, format!("`{}` is set twice", p.key.node))
                        .label("set again")
                        .also(prev, "first set here"),
                );
                ok = false;
                continue;
            }
            let done = match p.key.node.as_str() {
                "registry" => self.registry(&p.value).map(|r| registry = Some(r)),
                "train" => self.source_kind(&p.value, true).map(|(kind, schema)| {
                    if let Some(set) = &set {
                        if set.schema != schema {
                            self.error(
                                Diagnostic::new(
                                    Code::Conflict,
                                    p.value.span,
                                    format!(
                                        "training data has schema `{schema}`, but `{}` reads `{}`",
                                        set.name, set.schema
                                    ),
                                )
                                .label("different schema"),
                            );
                        }
                    }
                    train = Some(kind);
                }),
                "params" => self.params(&p.value).map(|ps| params = ps),
                "quantiles" => self.quantiles(&p.value).map(|q| quantiles = q),
                "holdout" => self.fraction(&p.value, "`holdout`").and_then(|h| {
                    if h <= 0.0 || h >= 1.0 {
                        self.error(
                            Diagnostic::new(
                                Code::OutOfRange,
                                p.value.span,
                                "`holdout` must lie strictly between 0% and 100%",
                            )
                            .label("no rows to train or to test"),
                        );
                        None
                    } else {
                        holdout = h;
                        Some(())
                    }
                }),
                "predictor" => self.choice(&p.value, "predictor", &["compiled", "lightgbm"]).map(|c| {
                    predictor = if c == "compiled" { PredictorKind::Compiled } else { PredictorKind::Lightgbm };
                }),
                other => {
                    self.error(
                        Diagnostic::new(Code::UnknownProperty, p.key.span, format!("a model has no setting `{other}`"))
                            .label("unknown setting")
                            .hint(did_you_mean(other, KEYS.iter().copied()).unwrap_or_else(|| {
                                format!(
                                    "model settings are {}; LightGBM parameters go inside `params: {{ {other}: ... }}`",
                                    KEYS.join(", ")
                                )
                            })),
                    );
                    None
                }
            };
            ok &= done.is_some();
        }
        if let (true, Some(features), Some(label)) = (ok, features, label) {
            let registry = match registry {
                Some(RegistrySpec::Directory { path }) => {
                    RegistrySpec::Directory { path: self.file_relative(m.span.file, &path) }
                }
                Some(spec) => spec,
                None => RegistrySpec::Directory { path: self.file_relative(m.span.file, "models") },
            };
            self.program.models.push(Model {
                name: m.name.node.clone(),
                algorithm: "lightgbm".into(),
                features: features.node,
                label,
                registry,
                train,
                params,
                quantiles,
                holdout,
                predictor,
            });
        }
    }

    /// The label: a numeric field of the features' schema that no feature reads.
    /// `registry: "DIR"` or `registry: mlflow("URL", name: "...", experiment: "...")`.
    fn registry(&mut self, e: &crate::ast::Expr) -> Option<RegistrySpec> {
        if let ExprKind::Str(path) = &e.node {
            return Some(RegistrySpec::Directory { path: path.clone() });
        }
        let Some((callee, args)) = as_call(e).filter(|(c, _)| c.node == "mlflow") else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "expected a registry: a directory or mlflow(...)")
                    .label(format!("found {}", describe_expr(e)))
                    .hint("write `registry: \"models\"` or `registry: mlflow(\"http://127.0.0.1:5000\", name: \"housing_price\")`"),
            );
            return None;
        };
        let a = self.args(&callee, args, &["url"], &["name", "experiment"]);
        let mut ok = true;
        let mut text = |this: &mut Self, key: &str, what: &str| -> Option<String> {
            let e = a.get(key)?;
            let value = this.string(e, what);
            let problem = match &value {
                None => None,
                Some(v) if v.trim().is_empty() => Some(format!("{what} is empty")),
                Some(v) if v.chars().any(char::is_control) => Some(format!("{what} holds a control character")),
                Some(v) if key == "url" && !(v.starts_with("http://") || v.starts_with("https://")) => {
                    Some("an MLflow tracking URL starts with http:// or https://".to_string())
                }
                Some(_) => None,
            };
            if let Some(problem) = problem {
                this.error(
                    Diagnostic::new(Code::OutOfRange, e.span, problem)
                        .label(format!("{:?}", value.unwrap_or_default())),
                );
                ok = false;
                return None;
            }
            ok &= value.is_some();
            value
        };
        let url = text(self, "url", "the tracking URL");
        let name = text(self, "name", "`name`");
        let experiment = text(self, "experiment", "`experiment`");
        ok.then_some(RegistrySpec::Mlflow { url: url.map(|u| u.trim_end_matches('/').to_string()), name, experiment })
    }

    fn label(&mut self, e: &crate::ast::Expr, set: &crate::program::FeatureSet) -> Option<String> {
        let Some(name) = as_name(e) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "the label is a field name")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let schema = self.program.schema(&set.schema)?.clone();
        let Some(field) = schema.field(&name.node) else {
            self.error(
                Diagnostic::new(
                    Code::UnknownField,
                    name.span,
                    format!("schema `{}` has no field `{}`", schema.name, name.node),
                )
                .label("not a field")
                .maybe_hint(did_you_mean(&name.node, schema.fields.iter().map(|f| f.name.as_str()))),
            );
            return None;
        };
        if !field.ty.is_numeric() {
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    name.span,
                    format!(
                        "the label must be numeric; `{}` is {}",
                        name.node,
                        super::schema::type_in_words(&field.ty)
                    ),
                )
                .label("not a number"),
            );
            return None;
        }
        if let Some(f) = set.features.iter().find(|f| f.reads.contains(&name.node)) {
            self.error(
                Diagnostic::new(
                    Code::Conflict,
                    name.span,
                    format!("feature `{}` reads the label `{}`, which is unknown when predicting", f.name, name.node),
                )
                .label("the label")
                .hint(format!("remove `{}` from the features of `{}`", name.node, set.name)),
            );
            return None;
        }
        Some(name.node)
    }

    /// `params: { objective: regression, num_leaves: 31, linear_tree: true }`, passed to LightGBM.
    fn params(&mut self, e: &crate::ast::Expr) -> Option<BTreeMap<String, ParamValue>> {
        let ExprKind::Map(entries) = &e.node else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "`params` must be a map `{ name: value }`")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        let known = crate::model::train::known_params();
        for (k, v) in entries {
            if !known.contains(k.node.as_str()) {
                // Asked of LightGBM itself, so `check` refuses what `train` would.
                self.error(
                    Diagnostic::new(Code::UnknownProperty, k.span, format!("unknown LightGBM parameter `{}`", k.node))
                        .label("LightGBM has no such parameter")
                        .maybe_hint(did_you_mean(&k.node, known.iter().map(String::as_str))),
                );
                ok = false;
                continue;
            }
            let value = match &v.node {
                ExprKind::Bool(b) => Some(ParamValue::Bool(*b)),
                ExprKind::Str(s) | ExprKind::Name(s) => Some(ParamValue::Text(s.clone())),
                ExprKind::Number { unit: Unit::None, .. } | ExprKind::Unary { op: UnaryOp::Neg, .. } => {
                    self.plain(v, &format!("`{}`", k.node)).map(ParamValue::Number)
                }
                _ => {
                    self.error(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            v.span,
                            format!("parameter `{}` must be a number, word, string or boolean", k.node),
                        )
                        .label(format!("found {}", describe_expr(v))),
                    );
                    None
                }
            };
            match value {
                Some(val) => {
                    if out.insert(k.node.clone(), val).is_some() {
                        self.error(
                            Diagnostic::new(
                                Code::DuplicateProperty,
                                k.span,
                                format!("parameter `{}` is set twice", k.node),
                            )
                            .label("set again"),
                        );
                        ok = false;
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// `quantiles: [0.1, 0.9]`: each strictly between 0 and 1, no repeats.
    fn quantiles(&mut self, e: &crate::ast::Expr) -> Option<Vec<f64>> {
        let ExprKind::List(items) = &e.node else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "`quantiles` must be a list like `[0.1, 0.9]`")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let mut out: Vec<(f64, crate::ast::Span)> = Vec::new();
        for item in items {
            let q = self.quantity(item, super::values::Dim::Percent, "a quantile")?;
            if q <= 0.0 || q >= 1.0 {
                self.error(
                    Diagnostic::new(Code::OutOfRange, item.span, "a quantile lies strictly between 0 and 1")
                        .label(format!("{q}"))
                        .hint("write a fraction such as `0.9`, or a percentage such as `90%`"),
                );
                return None;
            }
            if let Some((_, first)) = out.iter().find(|(p, _)| *p == q) {
                self.error(
                    Diagnostic::new(Code::DuplicateProperty, item.span, format!("the quantile {q} is listed twice"))
                        .label("repeated")
                        .also(*first, "first listed here"),
                );
                return None;
            }
            out.push((q, item.span));
        }
        let mut out: Vec<f64> = out.into_iter().map(|(q, _)| q).collect();
        out.sort_by(f64::total_cmp);
        Some(out)
    }
}
