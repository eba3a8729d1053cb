use super::*;
use crate::check::check_source;
use crate::data::Value;

fn compiled(defs: &str) -> CompiledFeatures {
    let src = format!(
        "schema s {{\n  a: f64\n  b: f64?\n  addr: str?\n  flag: bool\n  kind: category(\"x\", \"y\")\n}}\nfeatures f from s {{\n{defs}\n}}\n"
    );
    let c = check_source("t.hf", &src);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    CompiledFeatures::compile(&c.program.unwrap().features[0]).unwrap()
}

fn row(a: f64, b: Option<f64>, addr: Option<&str>, flag: bool, kind: &str) -> Vec<Value> {
    vec![
        Value::Num(a),
        b.map_or(Value::Missing, Value::Num),
        addr.map_or(Value::Missing, |s| Value::Text(s.into())),
        Value::Bool(flag),
        Value::Text(kind.into()),
    ]
}

#[test]
fn arithmetic_functions_and_earlier_features() {
    let f = compiled("x = a / max(b, 1)\ny = x * 2 + 1\nz = if(flag, 1, 0)\nw = clamp(a, 0, 10)");
    let mut out = vec![0.0; 4];
    f.eval_into(&row(12.0, Some(4.0), None, true, "x"), &CategoryMaps::default(), &mut out);
    assert_eq!(out, [3.0, 7.0, 1.0, 10.0]);
    // A missing input makes the result missing (NaN), not a default.
    f.eval_into(&row(12.0, None, None, false, "x"), &CategoryMaps::default(), &mut out);
    assert!(out[0].is_nan() && out[1].is_nan());
    assert_eq!(out[2], 0.0);
}

#[test]
fn categories_are_coded_by_the_learned_map_and_unseen_ones_are_missing() {
    let f = compiled("state = extract(addr, \"([A-Z]{2}) [0-9]{5}\")\nkind = kind");
    let rows = [
        row(1.0, None, Some("1 Main St, Austin, TX 78701"), true, "y"),
        row(1.0, None, Some("2 Elm, Boston, MA 02101"), true, "x"),
    ];
    let maps = CategoryMaps::learn(&f, rows.iter().map(|r| r.as_slice()));
    assert_eq!(maps.values["state"], ["MA", "TX"]);
    assert_eq!(maps.values["kind"], ["x", "y"]);
    let out = f.eval_rows(&rows, &maps);
    assert_eq!(out, [1.0, 1.0, 0.0, 0.0]);
    let unseen = f.eval_rows([row(1.0, None, Some("9 Pine, Reno, NV 89501"), true, "z")], &maps);
    assert!(unseen[0].is_nan() && unseen[1].is_nan());
    let no_match = f.eval_rows([row(1.0, None, Some("no state here"), true, "x")], &maps);
    assert!(no_match[0].is_nan());
}

#[test]
fn comparisons_and_text_functions() {
    let f = compiled("big = a > 10\nlong = len(addr)\nhas = contains(lower(addr), \"main\")\nsame = kind == \"y\"");
    let out = f.eval_rows([row(11.0, None, Some("1 MAIN St"), true, "y")], &CategoryMaps::default());
    assert_eq!(out, [1.0, 9.0, 1.0, 1.0]);
}

#[test]
fn extract_with_and_without_a_group_on_any_thread() {
    let f = compiled("zip = extract(addr, \"[0-9]{5}\")\nstate = extract(lower(addr), \"([a-z]{2}) [0-9]{5}\")");
    let rows =
        [row(1.0, None, Some("1 Main St, Austin, TX 78701"), true, "y"), row(1.0, None, Some("none here"), true, "x")];
    let maps = CategoryMaps::learn(&f, rows.iter().map(|r| r.as_slice()));
    assert_eq!(maps.values["zip"], ["78701"]);
    assert_eq!(maps.values["state"], ["tx"]);
    let here = f.eval_rows(&rows, &maps);
    assert_eq!(here[..2], [0.0, 0.0]);
    assert!(here[2].is_nan() && here[3].is_nan(), "no match is missing: {here:?}");
    // Another thread has its own search scratch and finds the same.
    let there = std::thread::scope(|s| s.spawn(|| f.eval_rows(&rows, &maps)).join().unwrap());
    assert_eq!(format!("{here:?}"), format!("{there:?}"));
}
