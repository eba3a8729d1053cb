//! The monitoring files in `deploy/`: the Grafana dashboard is well formed and queries only
//! metrics the server exports, and Prometheus accepts its configuration.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path: PathBuf = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn dashboard() -> Value {
    serde_json::from_str(&read("deploy/grafana/housing-flow.json"))
        .unwrap_or_else(|e| panic!("deploy/grafana/housing-flow.json is not valid JSON: {e}"))
}

/// Every panel of the dashboard, those nested in rows included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn collect<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            if let Some(nested) = panel.get("panels") {
                collect(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    collect(&dashboard["panels"], &mut out);
    out
}

fn is_row(panel: &Value) -> bool {
    panel["type"].as_str() == Some("row")
}

/// The `expr` of every target of `panel`.
fn exprs(panel: &Value) -> Vec<&str> {
    panel["targets"].as_array().into_iter().flatten().filter_map(|t| t["expr"].as_str()).collect()
}

/// Every token of `text` matching `housing_flow_[a-z_]+`.
fn metric_tokens(text: &str) -> Vec<String> {
    const PREFIX: &str = "housing_flow_";
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(PREFIX) {
        let after = &rest[i + PREFIX.len()..];
        let len = after.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(after.len());
        if len > 0 {
            tokens.push(format!("{PREFIX}{}", &after[..len]));
        }
        rest = &after[len..];
    }
    tokens
}

/// A metric name without the `_bucket`, `_sum` or `_count` suffix of a histogram or summary series.
fn family_name(token: &str) -> &str {
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = token.strip_suffix(suffix) {
            return base;
        }
    }
    token
}

#[test]
fn dashboard_is_well_formed() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"].as_str(), Some("housing-flow"), "dashboard uid");
    let panels = panels(&dashboard);
    assert!(!panels.is_empty(), "the dashboard has no panels");
    let mut ids = BTreeSet::new();
    for panel in &panels {
        let title = panel["title"].as_str().unwrap_or("<untitled>");
        let id = panel["id"].as_u64().unwrap_or_else(|| panic!("panel {title:?} has no numeric id"));
        assert!(ids.insert(id), "panel id {id} (panel {title:?}) is not unique");
        let grid = &panel["gridPos"];
        for key in ["x", "y", "w", "h"] {
            assert!(grid[key].is_u64(), "panel {title:?} has no gridPos.{key}");
        }
        if is_row(panel) {
            continue;
        }
        let exprs = exprs(panel);
        assert!(exprs.iter().any(|e| !e.trim().is_empty()), "panel {title:?} has no target with a non-empty expr");
    }
}

/// The metric families a running `housing-flow run` exports, from the `# TYPE` lines of a real
/// `/metrics` scrape (after a prediction and an evaluated SLO, so every family is there).
fn scraped_families() -> BTreeSet<String> {
    let dir = common::temp_dir("deploy-scrape");
    std::fs::write(dir.join("main.hf"), common::quick_main()).unwrap();
    let mut run = common::Running::start(&dir, &["run", "main.hf", "--port", "0"]);
    let addr = run.http_addr();
    let body = r#"{"Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
        "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}"#;
    let (status, _) = common::request(&addr, "POST", "/predict", Some("application/json"), body);
    assert_eq!(status, 200);
    let metrics = common::eventually("an evaluated SLO and drift window", Duration::from_secs(60), || {
        let (_, m) = common::request(&addr, "GET", "/metrics", None, "");
        (m.contains("housing_flow_slo_violated{") && m.contains("housing_flow_drift_psi{")).then_some(m)
    });
    let _ = std::fs::remove_dir_all(dir);
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[test]
fn dashboard_queries_only_metrics_a_running_pipeline_exports() {
    let exported = scraped_families();
    assert!(exported.len() >= 10, "a real scrape has the run's families: {exported:?}");
    let dashboard = dashboard();
    let mut unknown = BTreeSet::new();
    let mut queried = BTreeSet::new();
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or("<untitled>");
        for expr in exprs(panel) {
            for token in metric_tokens(expr) {
                let name = family_name(&token).to_string();
                if !exported.contains(&name) {
                    unknown.insert(format!("{name} (panel {title:?})"));
                }
                queried.insert(name);
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "the dashboard queries metrics the running binary does not export: {unknown:?}; exported: {exported:?}"
    );
    assert!(queried.len() >= 5, "the dashboard queries the run's metrics: {queried:?}");
}

#[test]
fn promtool_accepts_prometheus_config() {
    let config = root().join("deploy/prometheus.yml");
    let output = match Command::new("promtool").arg("check").arg("config").arg(&config).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("promtool is not on PATH: run `make deps` to install it")
        }
        Err(e) => panic!("cannot run promtool: {e}"),
    };
    assert!(
        output.status.success(),
        "promtool check config {} failed:\n{}{}",
        config.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn metric_tokens_strip_suffixes() {
    let tokens = metric_tokens(
        r#"histogram_quantile(0.5, sum by (le) (rate(housing_flow_a_bucket[1m]))) / housing_flow_b{x="1"}"#,
    );
    assert_eq!(tokens, ["housing_flow_a_bucket", "housing_flow_b"]);
    assert_eq!(family_name("housing_flow_a_bucket"), "housing_flow_a");
    assert_eq!(family_name("housing_flow_b_count"), "housing_flow_b");
    assert_eq!(family_name("housing_flow_c_total"), "housing_flow_c_total");
}
