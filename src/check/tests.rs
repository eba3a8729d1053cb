use super::check_source;

#[test]
fn placeholder_compiles() {
    let c = check_source("a.hf", "schema s { a: f64 }");
    assert!(c.diagnostics.is_empty());
}
