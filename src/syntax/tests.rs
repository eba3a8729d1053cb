use super::parse_module;
use crate::ast::*;

fn parse_ok(src: &str) -> Module {
    let (m, diags) = parse_module(src, 0);
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    m
}

fn feature_expr(src: &str) -> Expr {
    let m = parse_ok(&format!("features f from s {{ x = {src} }}"));
    match &m.decls[0] {
        Decl::Features(f) => f.defs[0].value.clone(),
        other => panic!("not features: {other:?}"),
    }
}

fn show(e: &Expr) -> String {
    match &e.node {
        ExprKind::Number { value, unit: Unit::None } => format!("{value}"),
        ExprKind::Number { value, unit } => format!("{value}{unit:?}"),
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Name(n) => n.clone(),
        ExprKind::List(xs) => format!("[{}]", xs.iter().map(show).collect::<Vec<_>>().join(", ")),
        ExprKind::Map(kv) => {
            format!("{{{}}}", kv.iter().map(|(k, v)| format!("{}: {}", k.node, show(v))).collect::<Vec<_>>().join(", "))
        }
        ExprKind::Call { callee, args } => format!(
            "{}({})",
            show(callee),
            args.iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{}: {}", n.node, show(&a.value)),
                    None => show(&a.value),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ExprKind::Member { base, name } => format!("{}.{}", show(base), name.node),
        ExprKind::Unary { op, operand } => format!("({op:?} {})", show(operand)),
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", show(lhs), op.symbol(), show(rhs)),
    }
}

#[test]
fn precedence_follows_arithmetic() {
    assert_eq!(show(&feature_expr("1 + 2 * 3 - 4")), "((1 + (2 * 3)) - 4)");
    assert_eq!(show(&feature_expr("-a * b")), "((Neg a) * b)");
    assert_eq!(show(&feature_expr("a < b and not c or d")), "(((a < b) and (Not c)) or d)");
    assert_eq!(show(&feature_expr("a / max(b, 1)")), "(a / max(b, 1))");
    assert_eq!(show(&feature_expr("(1 + 2) * 3")), "((1 + 2) * 3)");
}

#[test]
fn units_and_magnitudes() {
    assert_eq!(show(&feature_expr("20k/s")), "20000PerSecond");
    assert_eq!(show(&feature_expr("1.5M")), "1500000");
    assert_eq!(show(&feature_expr("10_000")), "10000");
    assert_eq!(show(&feature_expr("250ms")), "250Millis");
    assert_eq!(show(&feature_expr("10m")), "10Minutes");
    assert_eq!(show(&feature_expr("5%")), "5Percent");
    assert_eq!(show(&feature_expr("10min")), "10Unknown(\"min\")");
    assert_eq!(show(&feature_expr("f(10_000 events, every: 1k)")), "f(10000Events, every: 1000)");
    assert_eq!(
        show(&feature_expr("ramp(100/s -> 5000/s, over: 20s)")),
        "ramp((100PerSecond -> 5000PerSecond), over: 20Seconds)"
    );
}

#[test]
fn lists_maps_strings() {
    assert_eq!(show(&feature_expr(r#"[0.1, 0.9]"#)), "[0.1, 0.9]");
    assert_eq!(show(&feature_expr(r#"{ a: 1, "Main road": b }"#)), "{a: 1, Main road: b}");
    assert_eq!(show(&feature_expr(r#""a\"b\d""#)), r#""a\"b\\d""#);
}

#[test]
fn spans_are_absolute_bytes() {
    let src = "schema s { a: f64 }\nfeatures f from s { x = a + 1 }";
    let m = parse_ok(src);
    let Decl::Features(f) = &m.decls[1] else { panic!() };
    let e = &f.defs[0].value;
    assert_eq!(&src[e.span.range()], "a + 1");
    assert_eq!(&src[f.name.span.range()], "f");
}

#[test]
fn every_syntax_error_is_reported() {
    let src = "schema s { a f64 }\nsource raw = generate(s\nfeatures f from s { x = a }\nmodel m = \n";
    let (m, diags) = parse_module(src, 0);
    assert_eq!(diags.len(), 3, "{diags:#?}");
    assert_eq!(m.decls.len(), 1);
    assert!(diags.iter().all(|d| d.code == crate::diagnostics::Code::Syntax));
}
