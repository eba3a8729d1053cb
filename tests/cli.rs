//! The real binary: exit codes and output of `check` and `explain`.

mod common;

fn hf(args: &[&str]) -> (i32, String, String) {
    common::run_to_end(&common::root(), args, std::time::Duration::from_secs(120))
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_passes_the_default_pipeline() {
    let (code, out, err) = hf(&["check", "pipelines/main.hf"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok: pipelines/main.hf"), "{out}");
}

#[test]
fn check_reports_every_error_with_location_code_and_hint() {
    let main = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/pipelines/main.hf")).unwrap();
    let bad = main
        .replace("income        = Avg_Area_Income", "income        = Avg_Area_Incom")
        .replace("every: 1_000)", "every: 1m)");
    let path = temp_file("bad.hf", &bad);
    let (code, _, err) = hf(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    let line = bad.lines().position(|l| l.contains("Avg_Area_Incom\n") || l.ends_with("Avg_Area_Incom")).unwrap() + 1;
    assert!(err.contains(&format!("bad.hf:{line}:19")), "{err}");
    assert!(err.contains("error[E0203]"), "{err}");
    assert!(err.contains("^^^^^^^^^^^^^^"), "{err}");
    assert!(err.contains("did you mean `Avg_Area_Income`?"), "{err}");
    assert!(err.contains("error[E0302]"), "{err}");
    assert!(err.contains("2 problems found"), "{err}");
}

#[test]
fn check_exits_2_on_unreadable_files() {
    let (code, _, err) = hf(&["check", "no/such/file.hf"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read `no/such/file.hf`"), "{err}");
    // A missing `use`d file is unreadable too.
    let path = temp_file("uses_missing.hf", "use \"missing.hf\"\n");
    let (code, _, err) = hf(&["check", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("E0001"), "{err}");
}

#[test]
fn explain_prints_text_and_json_plans() {
    let (code, out, err) = hf(&["explain", "pipelines/main.hf", "--workers", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("plan for pipelines/main.hf: 2 worker(s)"), "{out}");
    assert!(out.contains("drift-window"), "{out}");
    let (code, out, _) = hf(&["explain", "pipelines/main.hf", "--json"]);
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(plan["workers"], 1);
    assert_eq!(plan["dataflows"][0]["operators"][0]["kind"]["op"], "source");
    assert_eq!(plan["models"][0]["model"]["label"], "Price");
}

#[test]
fn readme_example_is_the_default_pipeline_and_checks() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let start = readme.find("```hf\n").expect("README has an hf example") + 6;
    let end = start + readme[start..].find("```").unwrap();
    let example = &readme[start..end];
    let main = std::fs::read_to_string(format!("{root}/pipelines/main.hf")).unwrap();
    assert!(main.contains(example), "README's example differs from pipelines/main.hf");
    let checked = housing_flow::check::check_source("README.md", example);
    assert!(checked.diagnostics.is_empty());
}

#[test]
fn diagnostics_are_coloured_only_when_asked_or_on_a_terminal() {
    let bad = temp_file("colour.hf", "schema s {\n  a: f64\n}\nfeatures f from s {\n  x = b\n}\n");
    let bad = bad.to_str().unwrap();
    let (code, _, plain) = hf(&["check", bad]);
    assert_eq!(code, 1);
    assert!(plain.contains("error[E0203]") && !plain.contains('\x1b'), "not a terminal: no colours\n{plain}");
    let (_, _, coloured) = hf(&["--color", "always", "check", bad]);
    assert!(coloured.contains('\x1b'), "--color always colours\n{coloured}");
    let (_, _, never) = hf(&["check", bad, "--color", "never"]);
    assert!(!never.contains('\x1b'));
    // NO_COLOR turns `auto` off even where colours would be used; an explicit flag still wins.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_housing-flow"))
        .env("NO_COLOR", "1")
        .args(["check", bad, "--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains('\x1b'));
}
