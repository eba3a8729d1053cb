//! `auction NAME { ... }`: listings, bidder personas, the rule, model bias.

use super::values::describe_expr;
use super::{Checker, Kind};
use crate::ast::{AuctionDecl, AuctionStmt, BinaryOp, Expr, ExprKind, UnaryOp, Unit};
use crate::diagnostics::{did_you_mean, suggest_or_list, Code, Diagnostic};
use crate::program::{Auction, AuctionRule, BidderGroup, Persona, PriceExpr, PriceVar};

const PERSONAS: &[&str] = &["investor", "flipper", "owner", "opportunist", "learner"];
const BIDDER_KEYS: &[&str] = &["max", "noise", "budget", "wins", "shading"];
/// Most bias levels one sweep may run.
const MAX_BIAS_LEVELS: usize = 101;
const RULES: &[&str] = &["english", "first_price", "second_price"];
const PRICE_VARS: &[&str] = &["estimate", "p10", "p90", "lower", "upper"];

impl Checker<'_> {
    pub(super) fn auction(&mut self, a: &AuctionDecl) {
        let mut listings = None;
        let mut bidders = Vec::new();
        let mut rule = None;
        let mut biases = vec![0.0];
        let mut seed = 0;
        let mut report = None;
        let mut ok = true;
        let mut seen = std::collections::HashMap::new();
        let mut shading_spans = Vec::new();
        for st in &a.stmts {
            let first = match st {
                AuctionStmt::Listings { span, .. } => self.once(&mut seen, "listings", *span),
                AuctionStmt::Rule(e) => self.once(&mut seen, "rule", e.span),
                AuctionStmt::Bias { span, .. } => self.once(&mut seen, "bias", *span),
                AuctionStmt::Seed(e) => self.once(&mut seen, "seed", e.span),
                AuctionStmt::Report(p) => self.once(&mut seen, "report", p.span),
                AuctionStmt::Use(_) | AuctionStmt::Bidders(_) => true,
            };
            if !first {
                ok = false;
                continue;
            }
            let done = match st {
                AuctionStmt::Use(_) => Some(()),
                AuctionStmt::Listings { count, source, .. } => {
                    let n = self.count(count, "the number of listings", 1);
                    let s = self.resolve(source, Kind::Source).then_some(());
                    match (n, s) {
                        (Some(n), Some(())) => {
                            listings = Some((n, source.node.clone()));
                            Some(())
                        }
                        _ => None,
                    }
                }
                AuctionStmt::Bidders(groups) => {
                    shading_spans.extend(
                        groups
                            .iter()
                            .flat_map(|g| g.params.iter())
                            .filter(|p| p.key.node == "shading")
                            .map(|p| p.key.span),
                    );
                    let mut all = Some(());
                    for g in groups {
                        match self.bidder(g) {
                            Some(b) => bidders.push(b),
                            None => all = None,
                        }
                    }
                    all
                }
                AuctionStmt::Rule(e) => self.auction_rule(e).map(|r| rule = Some(r)),
                AuctionStmt::Bias { target, by, sweep, span } => {
                    if target.node != "model" {
                        self.error(
                            Diagnostic::new(Code::UnknownName, target.span, format!("cannot bias `{}`", target.node))
                                .label("only the model's estimates are biased")
                                .hint("write `bias model by +5%`"),
                        );
                        None
                    } else {
                        self.biases(by, sweep.as_ref(), *span).map(|b| biases = b)
                    }
                }
                AuctionStmt::Seed(e) => self.count(e, "`seed`", 0).map(|s| seed = s),
                AuctionStmt::Report(p) => {
                    report = Some(self.file_relative(p.span.file, &p.node));
                    Some(())
                }
            };
            ok &= done.is_some();
        }
        if listings.is_none() && ok {
            self.error(
                Diagnostic::new(Code::BadStatement, a.name.span, format!("auction `{}` has no listings", a.name.node))
                    .label("what is sold?")
                    .hint("add `listings 200 from raw`"),
            );
            ok = false;
        }
        if bidders.is_empty() && ok {
            self.error(
                Diagnostic::new(Code::BadStatement, a.name.span, format!("auction `{}` has no bidders", a.name.node))
                    .label("who bids?")
                    .hint("add `bidders { investor x 5 { max: estimate * 0.95 } }`"),
            );
            ok = false;
        }
        if !matches!(rule, Some(AuctionRule::FirstPrice { .. })) {
            for span in shading_spans {
                self.error(
                    Diagnostic::warning(Code::UnusedSetting, span, "`shading` applies to `first_price` auctions only")
                        .label("no effect under this auction's rule")
                        .hint("bidders bid their limit under `second_price` and `english`; use `rule first_price(...)` or drop it"),
                );
            }
        }
        if let (true, Some((listings, source))) = (ok, listings) {
            let rule = rule.unwrap_or(AuctionRule::English {
                reserve: PriceExpr::Mul(Box::new(PriceExpr::Var(PriceVar::Estimate)), Box::new(PriceExpr::Const(0.9))),
                increment: 0.01,
            });
            self.program.auctions.push(Auction {
                name: a.name.node.clone(),
                listings,
                source,
                bidders,
                rule,
                biases,
                seed,
                report,
            });
        }
    }

    fn bidder(&mut self, b: &crate::ast::Bidder) -> Option<BidderGroup> {
        let persona = match b.persona.node.as_str() {
            "investor" => Some(Persona::Investor),
            "flipper" => Some(Persona::Flipper),
            "owner" => Some(Persona::Owner),
            "opportunist" => Some(Persona::Opportunist),
            "learner" => Some(Persona::Learner),
            other => {
                self.error(
                    Diagnostic::new(Code::UnknownPersona, b.persona.span, format!("unknown persona `{other}`"))
                        .label("not a persona")
                        .hint(suggest_or_list(other, PERSONAS.iter().copied(), "personas")),
                );
                None
            }
        };
        let count = self.count(&b.count, "the number of bidders", 1);
        let mut max = None;
        let mut noise = Some(0.0);
        let mut budget = None;
        let mut wins = None;
        let mut shading = None;
        let mut seen = std::collections::HashSet::new();
        for p in &b.params {
            if p.key.node != "max" && !seen.insert(p.key.node.clone()) {
                self.error(
                    Diagnostic::new(Code::DuplicateProperty, p.key.span, format!("`{}` is set twice", p.key.node))
                        .label("set again"),
                );
                noise = None;
                continue;
            }
            match p.key.node.as_str() {
                "max" if max.is_some() => {
                    self.error(
                        Diagnostic::new(Code::DuplicateProperty, p.key.span, "`max` is set twice").label("set again"),
                    );
                    noise = None;
                }
                "max" => max = Some(self.price(&p.value)),
                "noise" => noise = self.fraction(&p.value, "`noise`"),
                "budget" => match self.number(&p.value) {
                    Some((v, super::values::Dim::Plain)) if v > 0.0 => budget = Some(v),
                    Some(_) => {
                        self.error(
                            Diagnostic::new(Code::OutOfRange, p.value.span, "`budget` is an amount of money above 0")
                                .label("not a positive amount")
                                .hint("for example `budget: 5M`"),
                        );
                        noise = None;
                    }
                    None => noise = None,
                },
                "wins" => match self.count(&p.value, "`wins`", 1) {
                    Some(w) => wins = Some(w.min(u32::MAX as u64) as u32),
                    None => noise = None,
                },
                "shading" => match self.shading(&p.value, persona == Some(Persona::Learner)) {
                    Some(s) => shading = Some(s),
                    None => noise = None,
                },
                other => {
                    self.error(
                        Diagnostic::new(
                            Code::UnknownProperty,
                            p.key.span,
                            format!("a bidder has no setting `{other}`"),
                        )
                        .label("unknown setting")
                        .hint(suggest_or_list(
                            other,
                            BIDDER_KEYS.iter().copied(),
                            "bidder settings",
                        )),
                    );
                    noise = None;
                }
            }
        }
        let max = match max {
            Some(m) => m,
            None => {
                self.error(
                    Diagnostic::new(Code::MissingProperty, b.span, "a bidder needs `max:`, the most it pays")
                        .label("no `max`")
                        .hint("for example `max: estimate * 0.95`"),
                );
                None
            }
        };
        let persona = persona?;
        Some(BidderGroup {
            persona,
            count: count? as u32,
            max: max?,
            noise: noise?,
            budget,
            wins: wins.or(persona.default_wins()),
            shading: shading.unwrap_or_else(|| persona.default_shading()),
        })
    }

    /// `shading: 10%`, or for a learner the levels it tries: `shading: [0%, 5%, 10%]`.
    fn shading(&mut self, e: &Expr, learner: bool) -> Option<Vec<f64>> {
        let levels: Vec<&Expr> = match &e.node {
            ExprKind::List(items) if learner && !items.is_empty() => items.iter().collect(),
            ExprKind::List(_) if !learner => {
                self.error(
                    Diagnostic::new(Code::TypeMismatch, e.span, "only a `learner` chooses among shading levels")
                        .label("a list")
                        .hint("give one level, e.g. `shading: 10%`"),
                );
                return None;
            }
            _ => vec![e],
        };
        let mut out = Vec::new();
        for level in levels {
            let v = self.fraction(level, "`shading`")?;
            if !(0.0..0.95).contains(&v) {
                self.error(
                    Diagnostic::new(Code::OutOfRange, level.span, "a shading level lies in 0% .. 95%")
                        .label("outside 0% .. 95%"),
                );
                return None;
            }
            out.push(v);
        }
        Some(out)
    }

    /// `bias model by F`, or the sweep `FROM .. TO step STEP` (inclusive, ascending).
    fn biases(&mut self, by: &Expr, sweep: Option<&(Expr, Expr)>, span: crate::ast::Span) -> Option<Vec<f64>> {
        let from = self.quantity(by, super::values::Dim::Percent, "the bias")?;
        let Some((to, step)) = sweep else { return Some(vec![from]) };
        let to_v = self.quantity(to, super::values::Dim::Percent, "the bias")?;
        let step_v = self.quantity(step, super::values::Dim::Percent, "the step")?;
        if to_v < from {
            self.error(
                Diagnostic::new(Code::OutOfRange, to.span, "a bias sweep goes up: the end is below the start")
                    .label("below the start"),
            );
            return None;
        }
        let levels = ((to_v - from) / step_v.max(f64::MIN_POSITIVE) + 1e-9).floor() as usize + 1;
        if step_v <= 0.0 || levels > MAX_BIAS_LEVELS {
            self.error(
                Diagnostic::new(
                    Code::OutOfRange,
                    step.span,
                    format!("a step above 0 that gives at most {MAX_BIAS_LEVELS} levels"),
                )
                .label(if step_v <= 0.0 { "not above 0".to_string() } else { format!("{levels} levels") })
                .also(span, "in this sweep"),
            );
            return None;
        }
        // Levels as from + k·step, rounded to 1e-12 so that 5% steps land on 0 exactly.
        Some((0..levels).map(|k| ((from + k as f64 * step_v) * 1e12).round() / 1e12).collect())
    }

    fn auction_rule(&mut self, e: &Expr) -> Option<AuctionRule> {
        let Some((callee, args)) = super::values::as_call(e) else {
            self.error(
                Diagnostic::new(
                    Code::TypeMismatch,
                    e.span,
                    "expected a rule: english(...), first_price(...) or second_price(...)",
                )
                .label(format!("found {}", describe_expr(e))),
            );
            return None;
        };
        let named: &[&str] = if callee.node == "english" { &["reserve", "increment"] } else { &["reserve"] };
        if !RULES.contains(&callee.node.as_str()) {
            self.error(
                Diagnostic::new(Code::UnknownFunction, callee.span, format!("unknown auction rule `{}`", callee.node))
                    .label("not a rule")
                    .hint(suggest_or_list(&callee.node, RULES.iter().copied(), "rules")),
            );
            return None;
        }
        let a = self.args(&callee, args, &[], named);
        let reserve = a.get("reserve").map_or(Some(PriceExpr::Const(0.0)), |r| self.price(r))?;
        Some(match callee.node.as_str() {
            "english" => {
                let increment = a.get("increment").map_or(Some(0.01), |i| self.fraction(i, "`increment`"))?;
                if increment <= 0.0 {
                    self.error(
                        Diagnostic::new(
                            Code::OutOfRange,
                            callee.span,
                            "an English auction needs an increment above 0%",
                        )
                        .label("no increment"),
                    );
                    return None;
                }
                AuctionRule::English { reserve, increment }
            }
            "first_price" => AuctionRule::FirstPrice { reserve },
            _ => AuctionRule::SecondPrice { reserve },
        })
    }

    /// Arithmetic over `estimate`, `p10`, `p90`: what a bidder knows of a listing.
    fn price(&mut self, e: &Expr) -> Option<PriceExpr> {
        Some(match &e.node {
            ExprKind::Number { value, unit: Unit::None } => PriceExpr::Const(*value),
            ExprKind::Number { value, unit: Unit::Percent } => PriceExpr::Const(value / 100.0),
            ExprKind::Name(n) => PriceExpr::Var(match n.as_str() {
                "estimate" => PriceVar::Estimate,
                "p10" | "lower" => PriceVar::Lower,
                "p90" | "upper" => PriceVar::Upper,
                other => {
                    self.error(
                        Diagnostic::new(Code::UnknownName, e.span, format!("a bidder does not know `{other}`"))
                            .label("unknown value")
                            .hint(
                                did_you_mean(other, PRICE_VARS.iter().copied())
                                    .unwrap_or_else(|| "bidders know estimate, p10 (lower) and p90 (upper)".into()),
                            ),
                    );
                    return None;
                }
            }),
            ExprKind::Unary { op: UnaryOp::Neg, operand } => PriceExpr::Neg(Box::new(self.price(operand)?)),
            ExprKind::Unary { op: UnaryOp::Pos, operand } => self.price(operand)?,
            ExprKind::Binary { op, lhs, rhs }
                if matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div) =>
            {
                let (l, r) = (self.price(lhs), self.price(rhs));
                let (l, r) = (Box::new(l?), Box::new(r?));
                match op {
                    BinaryOp::Add => PriceExpr::Add(l, r),
                    BinaryOp::Sub => PriceExpr::Sub(l, r),
                    BinaryOp::Mul => PriceExpr::Mul(l, r),
                    _ => PriceExpr::Div(l, r),
                }
            }
            ExprKind::Call { callee, args } if matches!(&callee.node, ExprKind::Name(n) if n == "min" || n == "max") => {
                let parts: Vec<Option<PriceExpr>> = args.iter().map(|a| self.price(&a.value)).collect();
                let parts: Vec<PriceExpr> = parts.into_iter().collect::<Option<_>>()?;
                if parts.len() < 2 {
                    self.error(
                        Diagnostic::new(Code::WrongArity, e.span, "`min`/`max` take at least 2 values")
                            .label("too few"),
                    );
                    return None;
                }
                if matches!(&callee.node, ExprKind::Name(n) if n == "min") {
                    PriceExpr::Min(parts)
                } else {
                    PriceExpr::Max(parts)
                }
            }
            _ => {
                self.error(
                    Diagnostic::new(
                        Code::TypeMismatch,
                        e.span,
                        "expected a price: arithmetic over estimate, p10 and p90",
                    )
                    .label(format!("found {}", describe_expr(e))),
                );
                return None;
            }
        })
    }
}
