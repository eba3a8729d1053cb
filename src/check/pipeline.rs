//! `source`, `sink`, `serve` and `guardrail` declarations, and source descriptions
//! shared with a model's `train:` data.

use super::values::{as_call, as_name, describe_expr, Dim};
use super::{Checker, Kind};
use crate::ast::{Action as AstAction, Expr, ExprKind, GuardrailDecl, Ident, ServeDecl, SinkDecl, SourceDecl};
use crate::diagnostics::{did_you_mean, suggest_or_list, Code, Diagnostic};
use crate::program::{
    Action, Guardrail, KafkaStart, Rotation, Serve, Setting, Sink, SinkTarget, Source, SourceKind, Stream,
};

const SOURCE_KINDS: &[&str] = &["generate", "csv", "kafka"];
const SINK_KINDS: &[&str] = &["memory", "kafka", "file", "stdout"];

impl Checker<'_> {
    pub(super) fn source(&mut self, s: &SourceDecl) {
        if let Some((kind, schema)) = self.source_kind(&s.value, false) {
            let file = self.map.get(s.span.file).name.clone();
            self.program.sources.push(Source { name: s.name.node.clone(), schema, kind, file });
        }
    }

    /// A source description: `generate(...)`, `csv(...)` or `kafka(...)`, with its schema.
    /// `training` data must be finite (a generator needs `rows:`).
    pub(super) fn source_kind(&mut self, e: &Expr, training: bool) -> Option<(SourceKind, String)> {
        let Some((callee, args)) = as_call(e) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "expected a source: generate(...), csv(...) or kafka(...)")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        match callee.node.as_str() {
            "generate" => {
                let a = self.args(&callee, args, &["schema"], &["rate", "seed", "rows"]);
                let schema_e = a.require(self, "schema");
                let schema = self.schema_arg(&callee, schema_e);
                let seed = a.get("seed").map_or(Some(0), |e| self.count(e, "`seed`", 0));
                let rate = a.get("rate").map(|e| self.rate(e, "`rate`"));
                let rows = a.get("rows").map(|e| self.count(e, "`rows`", 1));
                if training && rows.is_none() {
                    self.error(
                        Diagnostic::new(
                            Code::MissingProperty,
                            callee.span,
                            "training data from the generator needs `rows:`",
                        )
                        .label("unbounded generator")
                        .hint("write `generate(housing, rows: 20_000, seed: 7)`"),
                    );
                }
                let (schema, seed) = (schema?, seed?);
                let rate = match rate {
                    Some(r) => Some(r?),
                    None => None,
                };
                let rows = match rows {
                    Some(r) => Some(r?),
                    None => None,
                };
                Some((SourceKind::Generate { seed, rate, rows }, schema))
            }
            "csv" => {
                let a = self.args(&callee, args, &["path"], &["schema", "columns", "delimiter", "rate"]);
                let path = a.require(self, "path").and_then(|e| self.string(e, "the CSV path"));
                let schema = self.inferred_schema(&callee, a.get("schema"));
                let delimiter = match a.get("delimiter") {
                    None => Some(','),
                    Some(e) => self.string(e, "`delimiter`").and_then(|d| {
                        let mut chars = d.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) if c.is_ascii() => Some(c),
                            _ => {
                                self.error(
                                    Diagnostic::new(Code::OutOfRange, e.span, "a delimiter is one ASCII character")
                                        .label(format!("{d:?}")),
                                );
                                None
                            }
                        }
                    }),
                };
                let rate = a.get("rate").map(|e| self.rate(e, "`rate`"));
                let schema = schema?;
                let columns = match a.get("columns") {
                    None => Some(Vec::new()),
                    Some(m) => self.column_map(m, &schema),
                };
                let rate = match rate {
                    Some(r) => Some(r?),
                    None => None,
                };
                let path = self.file_relative(callee.span.file, &path?);
                Some((SourceKind::Csv { path, columns: columns?, delimiter: delimiter?, rate }, schema))
            }
            "kafka" if !training => {
                let a = self.args(&callee, args, &["topic"], &["brokers", "format", "schema", "group", "start"]);
                let topic = a.require(self, "topic").and_then(|e| self.string(e, "the topic"));
                let brokers = match a.get("brokers") {
                    None => Some(Setting::default_kafka_brokers()),
                    Some(e) => self.setting(e, "`brokers`"),
                };
                let format = match a.get("format") {
                    None => Some("json"),
                    Some(e) => self.choice(e, "format", &["json"]),
                };
                let group = a.get("group").map(|e| self.string(e, "`group`"));
                let start = match a.get("start") {
                    None => Some(KafkaStart::Earliest),
                    Some(e) => self.choice(e, "start", &["earliest", "latest"]).map(|s| {
                        if s == "latest" {
                            KafkaStart::Latest
                        } else {
                            KafkaStart::Earliest
                        }
                    }),
                };
                let schema = self.inferred_schema(&callee, a.get("schema"));
                let group = match group {
                    Some(g) => Some(g?),
                    None => None,
                };
                Some((
                    SourceKind::Kafka {
                        topic: topic?,
                        brokers: brokers?,
                        format: format?.to_string(),
                        group,
                        start: start?,
                    },
                    schema?,
                ))
            }
            "kafka" => {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        callee.span,
                        "training data must be finite: a generator or a CSV file",
                    )
                    .label("a Kafka topic has no end"),
                );
                None
            }
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown source `{other}`"))
                        .label("not a source kind")
                        .hint(
                            did_you_mean(other, SOURCE_KINDS.iter().copied())
                                .unwrap_or_else(|| "sources are generate(...), csv(...) and kafka(...)".into()),
                        ),
                );
                None
            }
        }
    }

    /// A string, or `env("VAR", "default")`.
    pub(super) fn setting(&mut self, e: &Expr, what: &str) -> Option<Setting> {
        if let Some((callee, args)) = as_call(e) {
            if callee.node == "env" {
                let a = self.args(&callee, args, &["var", "default"], &[]);
                let var = a.require(self, "var").and_then(|v| self.string(v, "the variable name"));
                let default = a.get("default").map(|d| self.string(d, "the default"));
                let default = match default {
                    Some(d) => Some(d?),
                    None => None,
                };
                return Some(Setting::Env { var: var?, default });
            }
        }
        self.string(e, what).map(Setting::Value)
    }

    /// The positional schema of `generate(SCHEMA, ...)`.
    fn schema_arg(&mut self, _callee: &Ident, e: Option<&Expr>) -> Option<String> {
        let e = e?;
        let Some(name) = as_name(e) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "expected a schema name")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        self.resolve(&name, Kind::Schema).then_some(name.node)
    }

    /// `schema:` if given, else the program's only schema.
    fn inferred_schema(&mut self, callee: &Ident, e: Option<&Expr>) -> Option<String> {
        if e.is_some() {
            return self.schema_arg(callee, e);
        }
        let schemas = self.names_of(Kind::Schema);
        match schemas.as_slice() {
            [one] => Some(one.clone()),
            [] => {
                self.error(
                    Diagnostic::new(
                        Code::MissingDecl,
                        callee.span,
                        format!("`{}` needs a schema, and none is declared", callee.node),
                    )
                    .label("no schema")
                    .hint("declare one with `schema NAME { field: type ... }`"),
                );
                None
            }
            many => {
                self.error(
                    Diagnostic::new(
                        Code::AmbiguousSchema,
                        callee.span,
                        format!("which schema does this `{}` read?", callee.node),
                    )
                    .label(format!("{} schemas are declared", many.len()))
                    .hint(format!(
                        "name one with `schema:`, e.g. `schema: {}`; the schemas are {}",
                        many[0],
                        many.join(", ")
                    )),
                );
                None
            }
        }
    }

    /// `columns: { CSV_HEADER: field, "Header with spaces": field }`.
    fn column_map(&mut self, e: &Expr, schema: &str) -> Option<Vec<(String, String)>> {
        let ExprKind::Map(entries) = &e.node else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, e.span, "`columns` must be a map `{ CSV_COLUMN: field }`")
                    .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let fields: Vec<String> =
            self.program.schema(schema).map(|s| s.fields.iter().map(|f| f.name.clone()).collect()).unwrap_or_default();
        let mut out = Vec::new();
        let mut mapped_at = Vec::new();
        let mut ok = true;
        for (column, target) in entries {
            let Some(field) = as_name(target) else {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, target.span, "a column maps to a field name")
                        .label(format!("found {}", describe_expr(target))),
                );
                ok = false;
                continue;
            };
            if !fields.contains(&field.node) {
                self.error(
                    Diagnostic::new(
                        Code::UnknownField,
                        field.span,
                        format!("schema `{schema}` has no field `{}`", field.node),
                    )
                    .label("not a field")
                    .maybe_hint(did_you_mean(&field.node, fields.iter().map(String::as_str))),
                );
                ok = false;
                continue;
            }
            if let Some(i) = out.iter().position(|(_, f): &(String, String)| *f == field.node) {
                self.error(
                    Diagnostic::new(
                        Code::DuplicateProperty,
                        field.span,
                        format!("field `{}` is mapped twice", field.node),
                    )
                    .label(format!("mapped from `{}` here", column.node))
                    .also(mapped_at[i], format!("and from `{}` here", out[i].0)),
                );
                ok = false;
                continue;
            }
            out.push((column.node.clone(), field.node));
            mapped_at.push(field.span);
        }
        ok.then_some(out)
    }

    pub(super) fn sink(&mut self, s: &SinkDecl) {
        let stream = match &s.stream {
            None => Some(Stream::Predictions),
            Some(id) => match id.node.as_str() {
                "predictions" => Some(Stream::Predictions),
                "dead_letters" => Some(Stream::DeadLetters),
                "alerts" => Some(Stream::Alerts),
                other => {
                    self.error(
                        Diagnostic::new(Code::UnknownName, id.span, format!("no stream `{other}`"))
                            .label("not a stream")
                            .hint(suggest_or_list(other, ["predictions", "dead_letters", "alerts"], "streams")),
                    );
                    None
                }
            },
        };
        let mut targets = Vec::new();
        let mut memories = Vec::new();
        for t in &s.targets {
            if let Some(target) = self.sink_target(t) {
                if matches!(target, SinkTarget::Memory { .. }) {
                    memories.push(t.span);
                }
                targets.push(target);
            }
        }
        if let [first, second, ..] = memories[..] {
            self.error(
                Diagnostic::new(
                    Code::Conflict,
                    second,
                    format!("sink `{}` keeps at most one in-memory store", s.name.node),
                )
                .label("second `memory(...)`")
                .also(first, "first `memory(...)`"),
            );
        }
        if let Some(stream) = stream {
            if targets.len() == s.targets.len() {
                self.program.sinks.push(Sink { name: s.name.node.clone(), stream, targets });
            }
        }
    }

    fn sink_target(&mut self, e: &Expr) -> Option<SinkTarget> {
        let (callee, args) = match as_call(e) {
            Some(c) => c,
            None => match as_name(e) {
                Some(n) => (n, &[][..]),
                None => {
                    self.error(
                        Diagnostic::new(
                            Code::TypeMismatch,
                            e.span,
                            "expected a sink: memory(...), kafka(...), file(...) or stdout",
                        )
                        .label(format!("found {}", describe_expr(e))),
                    );
                    return None;
                }
            },
        };
        match callee.node.as_str() {
            "memory" => {
                let a = self.args(&callee, args, &["keep"], &[]);
                let keep = a.get("keep").map_or(Some(100_000), |k| self.count(k, "`keep`", 1))?;
                Some(SinkTarget::Memory { keep })
            }
            "kafka" => {
                let a = self.args(&callee, args, &["topic"], &["brokers"]);
                let topic = a.require(self, "topic").and_then(|t| self.string(t, "the topic"));
                let brokers = match a.get("brokers") {
                    None => Some(Setting::default_kafka_brokers()),
                    Some(b) => self.setting(b, "`brokers`"),
                };
                Some(SinkTarget::Kafka { topic: topic?, brokers: brokers? })
            }
            "file" => {
                let a = self.args(&callee, args, &["path"], &["rotate", "every", "keep"]);
                let path = a.require(self, "path").and_then(|p| self.string(p, "the file path"));
                let max_bytes = match a.get("rotate") {
                    None => None,
                    Some(e) => {
                        Some(self.quantity(e, Dim::Bytes, "`rotate`").and_then(|v| self.positive(e, v, "`rotate`"))?
                            as u64)
                    }
                };
                let every_ms = match a.get("every") {
                    None => None,
                    Some(e) => Some(self.duration_ms(e, "`every`").filter(|ms| *ms > 0)?),
                };
                let keep = match a.get("keep") {
                    None => 5,
                    Some(e) => self.count(e, "`keep`", 1)? as u32,
                };
                if a.get("keep").is_some() && max_bytes.is_none() && every_ms.is_none() {
                    let at = a.get("keep").map_or(callee.span, |k| k.span);
                    self.error(
                        Diagnostic::new(
                            Code::MissingProperty,
                            at,
                            "`keep` counts rotated files, but the file never rotates",
                        )
                        .label("no `rotate:` or `every:`")
                        .hint("write `file(\"out/p.jsonl\", rotate: 100MB, keep: 5)`"),
                    );
                    return None;
                }
                let rotate =
                    (max_bytes.is_some() || every_ms.is_some()).then_some(Rotation { max_bytes, every_ms, keep });
                Some(SinkTarget::File { path: self.file_relative(callee.span.file, &path?), rotate })
            }
            "stdout" => {
                self.args(&callee, args, &[], &[]);
                Some(SinkTarget::Stdout)
            }
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown sink `{other}`"))
                        .label("not a sink kind")
                        .hint(
                            did_you_mean(other, SINK_KINDS.iter().copied())
                                .unwrap_or_else(|| "sinks are memory(...), kafka(...), file(...) and stdout".into()),
                        ),
                );
                None
            }
        }
    }

    pub(super) fn serve(&mut self, s: &ServeDecl) {
        let Some((callee, args)) = as_call(&s.value).or_else(|| as_name(&s.value).map(|n| (n, &[][..]))) else {
            self.error(
                Diagnostic::new(Code::TypeMismatch, s.value.span, "expected `http(port: ...)`")
                    .label(format!("found {}", describe_expr(&s.value))),
            );
            return;
        };
        if callee.node != "http" {
            self.error(
                Diagnostic::new(Code::UnknownFunction, callee.span, format!("cannot serve `{}`", callee.node))
                    .label("only `http` is served")
                    .maybe_hint(did_you_mean(&callee.node, ["http"])),
            );
            return;
        }
        let a = self.args(
            &callee,
            args,
            &["port"],
            &["host", "body_limit", "timeout", "header_timeout", "max_connections", "max_connections_per_client"],
        );
        let port = a.get("port").map_or(Some(8000), |p| self.count(p, "`port`", 0));
        let port = port.and_then(|p| {
            if p > u16::MAX as u64 {
                self.error(
                    Diagnostic::new(
                        Code::OutOfRange,
                        a.get("port").map_or(callee.span, |e| e.span),
                        "a port lies in 0 .. 65535",
                    )
                    .label(format!("{p}")),
                );
                None
            } else {
                Some(p as u16)
            }
        });
        let host = a.get("host").map_or(Some("127.0.0.1".to_string()), |h| self.string(h, "`host`"));
        let body_limit = a.get("body_limit").map_or(Some(1 << 20), |b| self.count(b, "`body_limit`", 1));
        let timeout_ms = a.get("timeout").map_or(Some(5_000), |t| self.duration_ms(t, "`timeout`"));
        let header_timeout_ms =
            a.get("header_timeout").map_or(Some(10_000), |t| self.duration_ms(t, "`header_timeout`"));
        let max_connections = a.get("max_connections").map_or(Some(1024), |n| self.count(n, "`max_connections`", 1));
        let max_connections_per_client =
            a.get("max_connections_per_client").map_or(Some(256), |n| self.count(n, "`max_connections_per_client`", 1));
        if let (
            Some(port),
            Some(host),
            Some(body_limit),
            Some(timeout_ms),
            Some(header_timeout_ms),
            Some(max_connections),
            Some(max_connections_per_client),
        ) = (port, host, body_limit, timeout_ms, header_timeout_ms, max_connections, max_connections_per_client)
        {
            self.program.serve = Some(Serve {
                host,
                port,
                body_limit,
                timeout_ms,
                header_timeout_ms,
                max_connections,
                max_connections_per_client,
            });
        }
    }

    pub(super) fn guardrail(&mut self, g: &GuardrailDecl) {
        let action = self.action(&g.action);
        let condition = self.condition(&g.condition, super::conditions::Context::Guardrail);
        let for_windows = g.for_windows.as_ref().map_or(Some(1), |f| self.count(f, "`for N windows`", 1));
        if let (Some(action), Some(condition), Some(for_windows)) = (action, condition, for_windows) {
            if condition.drifts().is_empty() {
                self.not_available(
                    g.span,
                    "a guardrail that names no drift monitor",
                    "`run` evaluates guardrails on the windows of the drift monitor they name",
                );
            }
            self.program.guardrails.push(Guardrail { action, condition, for_windows: for_windows as u32 });
        }
    }

    /// `alert`, `log`, `rollback` (what `run` carries out); `abort_canary`, `shed(10%)` and
    /// `abort` are refused as not available there.
    pub(super) fn action(&mut self, a: &AstAction) -> Option<Action> {
        let action = self.action_named(a)?;
        match &action {
            Action::AbortCanary => {
                self.not_available(a.name.span, "the `abort_canary` action", "`run` has no canary to abort")
            }
            Action::Shed { .. } => self.not_available(
                a.name.span,
                "the `shed(...)` action in a pipeline",
                "a scenario's own `guardrail shed(...) when ...` sheds HTTP load",
            ),
            Action::Abort => self.not_available(
                a.name.span,
                "the `abort` action in a pipeline",
                "a scenario's own `guardrail abort when ...` ends its run",
            ),
            _ => {}
        }
        Some(action)
    }

    /// An action by its name and arguments, wherever it may be used.
    pub(super) fn action_named(&mut self, a: &AstAction) -> Option<Action> {
        const ACTIONS: &[&str] = &["alert", "log", "rollback", "abort_canary", "shed", "abort"];
        let takes_args = a.name.node == "shed";
        if !a.args.is_empty() && !takes_args {
            self.error(
                Diagnostic::new(Code::WrongArity, a.span, format!("`{}` takes no arguments", a.name.node))
                    .label("arguments given"),
            );
            return None;
        }
        match a.name.node.as_str() {
            "alert" => Some(Action::Alert),
            "log" => Some(Action::Log),
            "rollback" => Some(Action::Rollback),
            "abort_canary" => Some(Action::AbortCanary),
            "abort" => Some(Action::Abort),
            "shed" => {
                let args = self.args(&a.name, &a.args, &["fraction"], &[]);
                let fraction = args.require(self, "fraction").and_then(|f| self.fraction(f, "the shed fraction"))?;
                Some(Action::Shed { fraction })
            }
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownAction, a.name.span, format!("unknown action `{other}`"))
                        .label("not an action")
                        .hint(suggest_or_list(other, ACTIONS.iter().copied(), "actions")),
                );
                None
            }
        }
    }
}
