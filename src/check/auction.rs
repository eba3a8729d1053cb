//! `auction NAME { ... }`: listings, bidder personas, the rule, model bias.

use super::values::describe_expr;
use super::{Checker, Kind};
use crate::ast::{AuctionDecl, AuctionStmt, BinaryOp, Expr, ExprKind, UnaryOp, Unit};
use crate::diagnostics::{did_you_mean, suggest_or_list, Code, Diagnostic};
use crate::program::{Auction, AuctionRule, BidderGroup, Persona, PriceExpr, PriceVar};

const PERSONAS: &[&str] = &["investor", "flipper", "owner", "opportunist"];
const RULES: &[&str] = &["english", "first_price", "second_price"];
const PRICE_VARS: &[&str] = &["estimate", "p10", "p90", "lower", "upper"];

impl Checker<'_> {
    pub(super) fn auction(&mut self, a: &AuctionDecl) {
        let mut listings = None;
        let mut bidders = Vec::new();
        let mut rule = None;
        let mut bias = 0.0;
        let mut seed = 0;
        let mut report = None;
        let mut ok = true;
        let mut seen = std::collections::HashMap::new();
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
                AuctionStmt::Bias { target, by, .. } => {
                    if target.node != "model" {
                        self.error(
                            Diagnostic::new(Code::UnknownName, target.span, format!("cannot bias `{}`", target.node))
                                .label("only the model's estimates are biased")
                                .hint("write `bias model by +5%`"),
                        );
                        None
                    } else {
                        self.quantity(by, super::values::Dim::Percent, "the bias").map(|b| bias = b)
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
                bias,
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
        for p in &b.params {
            match p.key.node.as_str() {
                "max" if max.is_some() => {
                    self.error(
                        Diagnostic::new(Code::DuplicateProperty, p.key.span, "`max` is set twice").label("set again"),
                    );
                    noise = None;
                }
                "max" => max = Some(self.price(&p.value)),
                "noise" => noise = self.fraction(&p.value, "`noise`"),
                other => {
                    self.error(
                        Diagnostic::new(
                            Code::UnknownProperty,
                            p.key.span,
                            format!("a bidder has no setting `{other}`"),
                        )
                        .label("unknown setting")
                        .hint(suggest_or_list(other, ["max", "noise"], "bidder settings")),
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
        Some(BidderGroup { persona: persona?, count: count? as u32, max: max?, noise: noise? })
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
