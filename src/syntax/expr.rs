//! Expressions: a Pratt parser over the flat `expr` pair (pest's `PrattParser`).
//!
//! Precedence, loosest first: `->`, `or`, `and`, `not`, comparisons, `+ -`, `* /`,
//! unary `- +`, then calls `f(..)` and members `a.b`.

use super::ctx::Ctx;
use super::literal;
use super::Rule;
use crate::ast::{Arg, BinaryOp, Expr, ExprKind, Spanned, UnaryOp, Unit};
use crate::diagnostics::{Code, Diagnostic};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::sync::LazyLock;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::arrow, Assoc::Left))
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::prefix(Rule::not))
        .op(Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left)
            | Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
        .op(Op::prefix(Rule::neg) | Op::prefix(Rule::pos))
        .op(Op::postfix(Rule::call) | Op::postfix(Rule::member))
});

/// An `expr` pair → expression.
pub(super) fn expr(cx: &mut Ctx<'_>, pair: Pair<'_, Rule>) -> Expr {
    debug_assert_eq!(pair.as_rule(), Rule::expr);
    // The closures all need the context; a RefCell keeps the borrow checker content.
    let cx = std::cell::RefCell::new(cx);
    let parsed = PRATT
        .map_primary(|p| primary(&mut cx.borrow_mut(), p))
        .map_prefix(|op, operand| {
            let span = cx.borrow().span(&op).to(operand.span);
            let op = match op.as_rule() {
                Rule::neg => UnaryOp::Neg,
                Rule::pos => UnaryOp::Pos,
                Rule::not => UnaryOp::Not,
                other => unreachable!("no prefix operator {other:?}"),
            };
            Spanned::new(ExprKind::Unary { op, operand: Box::new(operand) }, span)
        })
        .map_postfix(|base, op| {
            let span = base.span.to(cx.borrow().span(&op));
            match op.as_rule() {
                Rule::call => {
                    let args = call_args(&mut cx.borrow_mut(), op);
                    Spanned::new(ExprKind::Call { callee: Box::new(base), args }, span)
                }
                Rule::member => {
                    let word = op.into_inner().next().expect("member holds a word");
                    let name = cx.borrow().ident(&word);
                    Spanned::new(ExprKind::Member { base: Box::new(base), name }, span)
                }
                other => unreachable!("no postfix operator {other:?}"),
            }
        })
        .map_infix(|lhs, op, rhs| {
            let span = lhs.span.to(rhs.span);
            let op = match op.as_rule() {
                Rule::arrow => BinaryOp::Arrow,
                Rule::or => BinaryOp::Or,
                Rule::and => BinaryOp::And,
                Rule::eq => BinaryOp::Eq,
                Rule::ne => BinaryOp::Ne,
                Rule::lt => BinaryOp::Lt,
                Rule::le => BinaryOp::Le,
                Rule::gt => BinaryOp::Gt,
                Rule::ge => BinaryOp::Ge,
                Rule::add => BinaryOp::Add,
                Rule::sub => BinaryOp::Sub,
                Rule::mul => BinaryOp::Mul,
                Rule::div => BinaryOp::Div,
                other => unreachable!("no infix operator {other:?}"),
            };
            Spanned::new(ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span)
        })
        .parse(pair.into_inner());
    parsed
}

/// The arguments of a `call` pair.
pub(super) fn call_args(cx: &mut Ctx<'_>, call: Pair<'_, Rule>) -> Vec<Arg> {
    call.into_inner()
        .map(|arg| {
            let inner = arg.into_inner().next().expect("arg holds a value");
            match inner.as_rule() {
                Rule::named_arg => {
                    let mut it = inner.into_inner();
                    let name = cx.ident(&it.next().expect("named_arg has a name"));
                    let value = expr(cx, it.next().expect("named_arg has a value"));
                    Arg { name: Some(name), value }
                }
                Rule::expr => Arg { name: None, value: expr(cx, inner) },
                other => unreachable!("no argument {other:?}"),
            }
        })
        .collect()
}

fn primary(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> Expr {
    let span = cx.span(&p);
    let kind = match p.as_rule() {
        Rule::paren => return expr(cx, p.into_inner().next().expect("paren holds an expr")),
        Rule::list => ExprKind::List(p.into_inner().map(|e| expr(cx, e)).collect()),
        Rule::map => ExprKind::Map(
            p.into_inner()
                .map(|entry| {
                    let mut it = entry.into_inner();
                    let key = it.next().expect("map_entry has a key");
                    let key = match key.as_rule() {
                        Rule::string => cx.string(key),
                        _ => cx.ident(&key),
                    };
                    (key, expr(cx, it.next().expect("map_entry has a value")))
                })
                .collect(),
        ),
        Rule::string => ExprKind::Str(cx.string(p).node),
        Rule::boolean => ExprKind::Bool(p.as_str() == "true"),
        Rule::ident => ExprKind::Name(p.as_str().to_string()),
        Rule::quantity => number(cx, p),
        Rule::events_lit => {
            let q = p.into_inner().next().expect("events_lit holds a quantity");
            match number(cx, q) {
                ExprKind::Number { value, unit: Unit::None } => ExprKind::Number { value, unit: Unit::Events },
                ExprKind::Number { value, unit } => {
                    let suffix = match &unit {
                        Unit::Millis => "ms",
                        Unit::Seconds => "s",
                        Unit::Minutes => "m",
                        Unit::Hours => "h",
                        Unit::PerSecond => "/s",
                        Unit::PerMinute => "/m",
                        Unit::PerHour => "/h",
                        Unit::Percent => "%",
                        Unit::Bytes => "B",
                        Unit::Unknown(s) => s.as_str(),
                        Unit::None | Unit::Events => "events",
                    };
                    cx.diags.push(
                        Diagnostic::new(Code::UnitMismatch, span, "a number of events cannot carry another unit")
                            .label(format!("both `{suffix}` and `events`"))
                            .hint("write a plain count such as `10_000 events`, or a duration such as `10s` without `events`"),
                    );
                    ExprKind::Number { value, unit: Unit::Events }
                }
                other => other,
            }
        }
        other => unreachable!("no primary {other:?}"),
    };
    Spanned::new(kind, span)
}

fn number(cx: &mut Ctx<'_>, p: Pair<'_, Rule>) -> ExprKind {
    let span = cx.span(&p);
    match literal::quantity(p) {
        Ok((value, unit)) => ExprKind::Number { value, unit },
        Err(msg) => {
            cx.diags.push(Diagnostic::new(Code::BadNumber, span, msg).label("this number"));
            ExprKind::Number { value: 0.0, unit: Unit::None }
        }
    }
}
