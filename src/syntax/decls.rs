//! One function per grammar rule: parse-tree pairs → AST nodes.

pub(crate) use super::ctx::Ctx;
use super::expr::{call_args, expr};
use super::Rule;
use crate::ast::*;
use pest::iterators::{Pair, Pairs};

/// Takes the next pair, which the grammar guarantees is there.
fn next<'i>(it: &mut Pairs<'i, Rule>, what: &str) -> Pair<'i, Rule> {
    it.next().unwrap_or_else(|| unreachable!("the grammar guarantees {what}"))
}

/// Takes the next pair if it has the given rule.
fn next_if<'i>(it: &mut Pairs<'i, Rule>, rule: Rule) -> Option<Pair<'i, Rule>> {
    if it.peek().is_some_and(|p| p.as_rule() == rule) {
        it.next()
    } else {
        None
    }
}

/// Skips keyword pairs (`kw_*`), which carry no information.
fn skip_keywords<'i>(pairs: Pairs<'i, Rule>) -> impl Iterator<Item = Pair<'i, Rule>> {
    pairs.filter(|p| !is_keyword(p.as_rule()))
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_use
            | Rule::kw_schema
            | Rule::kw_source
            | Rule::kw_features
            | Rule::kw_model
            | Rule::kw_drift
            | Rule::kw_sink
            | Rule::kw_serve
            | Rule::kw_slo
            | Rule::kw_guardrail
            | Rule::kw_scenario
            | Rule::kw_auction
            | Rule::kw_from
            | Rule::kw_in
            | Rule::kw_on
            | Rule::kw_window
            | Rule::kw_windows
            | Rule::kw_events
            | Rule::kw_for
            | Rule::kw_when
            | Rule::kw_then
            | Rule::kw_at
            | Rule::kw_duration
            | Rule::kw_seed
            | Rule::kw_traffic
            | Rule::kw_fault
            | Rule::kw_expect
            | Rule::kw_report
            | Rule::kw_detected
            | Rule::kw_within
            | Rule::kw_of
            | Rule::kw_not
            | Rule::kw_where
            | Rule::kw_listings
            | Rule::kw_bidders
            | Rule::kw_x
            | Rule::kw_rule
            | Rule::kw_bias
            | Rule::kw_by
            | Rule::kw_step
            | Rule::kw_category
    )
}

pub(super) fn decl(mut cx: Ctx<'_>, p: Pair<'_, Rule>) -> Option<Decl> {
    let cx = &mut cx;
    let span = cx.span(&p);
    let rule = p.as_rule();
    if rule == Rule::use_decl {
        return Some(Decl::Use(use_decl(cx, p)));
    }
    let mut words = skip_keywords(p.into_inner());
    Some(match rule {
        Rule::schema_decl => {
            let name = cx.ident(&words.next()?);
            let fields = words.map(|f| schema_field(cx, f)).collect();
            Decl::Schema(SchemaDecl { name, fields, span })
        }
        Rule::source_decl => {
            let name = cx.ident(&words.next()?);
            let value = expr(cx, words.next()?);
            Decl::Source(SourceDecl { name, value, span })
        }
        Rule::features_decl => {
            let name = cx.ident(&words.next()?);
            let schema = cx.ident(&words.next()?);
            let defs = words
                .map(|d| {
                    let mut di = d.into_inner();
                    let name = cx.ident(&next(&mut di, "a feature name"));
                    let value = expr(cx, next(&mut di, "a feature expression"));
                    FeatureDef { name, value }
                })
                .collect();
            Decl::Features(FeaturesDecl { name, schema, defs, span })
        }
        Rule::model_decl => {
            let name = cx.ident(&words.next()?);
            let value = expr(cx, words.next()?);
            let body = words.next().map(|b| properties(cx, b)).unwrap_or_default();
            Decl::Model(ModelDecl { name, value, body, span })
        }
        Rule::drift_decl => {
            let name = cx.ident(&words.next()?);
            let target_pair = words.next()?;
            let target_span = cx.span(&target_pair);
            let target = target_pair.into_inner().map(|w| cx.ident(&w)).collect();
            let window = expr(cx, words.next()?);
            let rules = words.map(|r| drift_rule(cx, r)).collect();
            Decl::Drift(DriftDecl { name, target, target_span, window, rules, span })
        }
        Rule::sink_decl => {
            let name = cx.ident(&words.next()?);
            let mut targets = Vec::new();
            let mut stream = None;
            for w in words {
                match w.as_rule() {
                    Rule::expr => targets.push(expr(cx, w)),
                    Rule::ident => stream = Some(cx.ident(&w)),
                    other => unreachable!("sink holds no {other:?}"),
                }
            }
            Decl::Sink(SinkDecl { name, targets, stream, span })
        }
        Rule::serve_decl => Decl::Serve(ServeDecl { value: expr(cx, words.next()?), span }),
        Rule::slo_decl => Decl::Slo(SloDecl { condition: expr(cx, words.next()?), span }),
        Rule::guardrail_decl => {
            let action = action(cx, words.next()?);
            let condition = expr(cx, words.next()?);
            let for_windows = words.next().map(|f| for_windows(cx, f));
            Decl::Guardrail(GuardrailDecl { action, condition, for_windows, span })
        }
        Rule::scenario_decl => {
            let name = cx.ident(&words.next()?);
            let stmts = words.map(|s| scenario_stmt(cx, s)).collect();
            Decl::Scenario(ScenarioDecl { name, stmts, span })
        }
        Rule::auction_decl => {
            let name = cx.ident(&words.next()?);
            let stmts = words.map(|s| auction_stmt(cx, s)).collect();
            Decl::Auction(AuctionDecl { name, stmts, span })
        }
        other => unreachable!("no declaration {other:?}"),
    })
}

fn use_decl(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> UseDecl {
    let span = cx.span(&p);
    let s = skip_keywords(p.into_inner()).next().expect("use holds a string");
    UseDecl { path: cx.string(s), span }
}

fn schema_field(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> SchemaField {
    let span = cx.span(&p);
    let mut it = p.into_inner();
    let name = cx.ident(&next(&mut it, "a field name"));
    let ty_pair = next(&mut it, "a field type");
    let ty_span = cx.span(&ty_pair);
    let inner = next(&mut ty_pair.into_inner(), "a type");
    let ty = match inner.as_rule() {
        Rule::word => FieldType::Named(inner.as_str().to_string()),
        Rule::category_type => {
            FieldType::Category(skip_keywords(inner.into_inner()).map(|s| cx.string(s).node).collect())
        }
        other => unreachable!("no field type {other:?}"),
    };
    let optional = next_if(&mut it, Rule::optional).is_some();
    let range = next_if(&mut it, Rule::range).map(|r| {
        let mut ri = skip_keywords(r.into_inner());
        let lo = expr(cx, ri.next().expect("range has a low end"));
        let hi = expr(cx, ri.next().expect("range has a high end"));
        (lo, hi)
    });
    SchemaField { name, ty: Spanned::new(ty, ty_span), optional, range, span }
}

fn properties(cx: &mut Ctx<'_>, body: Pair<'_, Rule>) -> Vec<Property> {
    body.into_inner()
        .map(|prop| {
            let mut pi = prop.into_inner();
            let key = cx.ident(&next(&mut pi, "a key"));
            let value = expr(cx, next(&mut pi, "a value"));
            Property { key, value }
        })
        .collect()
}

fn drift_rule(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> Rule_ {
    let span = cx.span(&p);
    let mut it = p.into_inner();
    let condition = expr(cx, next(&mut it, "a condition"));
    let for_windows = next_if(&mut it, Rule::for_windows).map(|f| for_windows(cx, f));
    let action = action(cx, next(&mut it, "an action"));
    Rule_ { condition, for_windows, action, span }
}

type Rule_ = crate::ast::Rule;

fn for_windows(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> Expr {
    expr(cx, skip_keywords(p.into_inner()).next().expect("for_windows holds a count"))
}

fn action(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> Action {
    let span = cx.span(&p);
    let mut it = p.into_inner();
    let name = cx.ident(&next(&mut it, "an action name"));
    let args = it.next().map(|c| call_args(cx, c)).unwrap_or_default();
    Action { name, args, span }
}

fn scenario_stmt(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> ScenarioStmt {
    let span = cx.span(&p);
    let rule = p.as_rule();
    if rule == Rule::use_decl {
        return ScenarioStmt::Use(use_decl(cx, p));
    }
    let mut words = skip_keywords(p.into_inner());
    let mut take = |what: &str| words.next().unwrap_or_else(|| unreachable!("the grammar guarantees {what}"));
    match rule {
        Rule::duration_stmt => ScenarioStmt::Duration(expr(cx, take("a duration"))),
        Rule::seed_stmt => ScenarioStmt::Seed(expr(cx, take("a seed"))),
        Rule::report_stmt => ScenarioStmt::Report(cx.string(take("a path"))),
        Rule::traffic_stmt => {
            let target = cx.ident(&take("a traffic target"));
            let patterns = words.map(|e| expr(cx, e)).collect();
            ScenarioStmt::Traffic { target, patterns, span }
        }
        Rule::at_stmt => {
            let at = expr(cx, take("a time"));
            let event = take("an event");
            let event_rule = event.as_rule();
            let mut ev = skip_keywords(event.into_inner());
            match event_rule {
                Rule::drift_event => {
                    let field = cx.ident(&ev.next().expect("drift_event has a field"));
                    let change = expr(cx, ev.next().expect("drift_event has a change"));
                    let condition = ev.next().map(|w| {
                        let inner = skip_keywords(w.into_inner()).next().expect("`where` has a condition");
                        expr(cx, inner)
                    });
                    ScenarioStmt::DriftAt { at, field, change, condition, span }
                }
                Rule::fault_event => {
                    let spec = ev.next().expect("fault_event has a fault");
                    let fault = fault(cx, spec);
                    let duration = ev.next().map(|d| expr(cx, d));
                    ScenarioStmt::FaultAt { at, fault, duration, span }
                }
                other => unreachable!("no event {other:?}"),
            }
        }
        Rule::expect_stmt => {
            let subject = expr(cx, take("an expectation"));
            let detection = words.next().map(|d| {
                let dspan = cx.span(&d);
                let detected = d.as_rule() == Rule::detection;
                let mut negated = false;
                let mut exprs = Vec::new();
                for w in skip_keywords(d.into_inner()) {
                    match w.as_rule() {
                        Rule::negated => negated = true,
                        Rule::expr => exprs.push(expr(cx, w)),
                        other => unreachable!("a detection or timing holds no {other:?}"),
                    }
                }
                let mut exprs = exprs.into_iter();
                Detection { detected, negated, within: exprs.next(), of: exprs.next(), span: dspan }
            });
            ScenarioStmt::Expect(Expectation { subject, detection, span })
        }
        Rule::scenario_guard => {
            let action = action(cx, take("an action"));
            let condition = expr(cx, take("a condition"));
            let hold = words.next().map(|h| expr(cx, h));
            ScenarioStmt::Guardrail { action, condition, hold, span }
        }
        other => unreachable!("no scenario statement {other:?}"),
    }
}

fn fault(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> Fault {
    let span = cx.span(&p);
    let mut it = p.into_inner();
    let kind = cx.ident(&next(&mut it, "a fault kind"));
    let (mut args, mut state) = (Vec::new(), None);
    if let Some(rest) = it.next() {
        match rest.as_rule() {
            Rule::call => args = call_args(cx, rest),
            Rule::fault_state => state = Some(cx.ident(&rest)),
            other => unreachable!("fault holds no {other:?}"),
        }
    }
    Fault { kind, args, state, span }
}

fn auction_stmt(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> AuctionStmt {
    let span = cx.span(&p);
    let rule = p.as_rule();
    if rule == Rule::use_decl {
        return AuctionStmt::Use(use_decl(cx, p));
    }
    let mut words = skip_keywords(p.into_inner());
    let mut take = |what: &str| words.next().unwrap_or_else(|| unreachable!("the grammar guarantees {what}"));
    match rule {
        Rule::listings_stmt => {
            let count = expr(cx, take("a count"));
            let source = cx.ident(&take("a source"));
            AuctionStmt::Listings { count, source, span }
        }
        Rule::bidders_block => AuctionStmt::Bidders(
            words
                .map(|b| {
                    let bspan = cx.span(&b);
                    let mut bi = skip_keywords(b.into_inner());
                    let persona = cx.ident(&bi.next().expect("bidder has a persona"));
                    let count = expr(cx, bi.next().expect("bidder has a count"));
                    let params = properties(cx, bi.next().expect("bidder has a body"));
                    Bidder { persona, count, params, span: bspan }
                })
                .collect(),
        ),
        Rule::rule_stmt => AuctionStmt::Rule(expr(cx, take("a rule"))),
        Rule::bias_stmt => {
            let target = cx.ident(&take("a bias target"));
            let by = expr(cx, take("a bias"));
            let sweep = match (words.next(), words.next()) {
                (Some(to), Some(step)) => Some((expr(cx, to), expr(cx, step))),
                _ => None,
            };
            AuctionStmt::Bias { target, by, sweep, span }
        }
        Rule::seed_stmt => AuctionStmt::Seed(expr(cx, take("a seed"))),
        Rule::report_stmt => AuctionStmt::Report(cx.string(take("a path"))),
        other => unreachable!("no auction statement {other:?}"),
    }
}
