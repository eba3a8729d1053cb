//! `housing-flow train FILE [--data CSV]`

use super::checked;
use anyhow::bail;
use housing_flow::model::train::train_and_register;
use housing_flow::plan;
use housing_flow::program::SourceKind;
use housing_flow::registry::meta::HoldoutMetrics;
use std::path::PathBuf;

/// Arguments of `train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    pub file: PathBuf,
    /// Train on this CSV file instead (columns mapped as the file's CSV source maps them).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Which model, when the file declares several.
    #[arg(long)]
    pub model: Option<String>,
    /// The registry: a directory, or an MLflow tracking server's http(s):// URL (default: the
    /// model's `registry:` setting).
    #[arg(long)]
    pub registry: Option<String>,
    /// Train only when the registry has no production version of the model yet.
    #[arg(long)]
    pub if_missing: bool,
}

pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let program = checked(&args.file)?.program.expect("a clean check has a program");
    let plan = plan::lower(&program, 1);
    let names: Vec<&str> = plan.models.iter().map(|m| m.model.name.as_str()).collect();
    let model = match (&args.model, plan.models.as_slice()) {
        (None, []) => bail!("`{}` declares no model to train", args.file.display()),
        (None, [only]) => only,
        (None, _) => bail!(
            "`{}` declares {} models ({}); choose one with --model NAME",
            args.file.display(),
            names.len(),
            names.join(", ")
        ),
        (Some(name), models) => match models.iter().find(|m| &m.model.name == name) {
            Some(m) => m,
            None => bail!("`{}` declares no model `{name}` (models: {})", args.file.display(), names.join(", ")),
        },
    };
    let registry = match &args.registry {
        Some(location) => housing_flow::registry::open_location(location)?,
        None => housing_flow::registry::open(&model.model.registry)?,
    };
    let name = model.model.registered_name();
    // An unreachable MLflow server is reported now, not after training.
    registry.check_reachable()?;
    if args.if_missing {
        if let Ok(Some(v)) = registry.production(name) {
            println!("{name} v{v} is in production in {}; not training", registry.location());
            return Ok(());
        }
    }
    let spec = match (&args.data, &model.model.train) {
        (Some(path), Some(SourceKind::Csv { columns, delimiter, .. })) => SourceKind::Csv {
            path: path.display().to_string(),
            columns: columns.clone(),
            delimiter: *delimiter,
            rate: None,
        },
        (Some(path), _) => SourceKind::Csv {
            path: path.display().to_string(),
            columns: csv_columns(&program, &model.schema.name),
            delimiter: ',',
            rate: None,
        },
        (None, Some(spec)) => spec.clone(),
        (None, None) => bail!(
            "model `{}` declares no training data; add `train: generate(...)` or `train: csv(...)`, or pass --data FILE.csv",
            model.model.name
        ),
    };
    let reg = train_and_register(model, &spec, registry.as_ref()).map_err(anyhow::Error::msg)?;
    if !reg.rejected.is_empty() {
        tracing::warn!("{} training row(s) were rejected; the first: {}", reg.rejected.len(), reg.rejected[0]);
    }
    let meta = &reg.meta;
    print_metrics(&meta.metrics, &meta.quantiles.iter().map(|q| q.alpha).collect::<Vec<_>>());
    let production = registry.production(name).ok().flatten();
    let role = if production == Some(reg.version) {
        "production".to_string()
    } else {
        format!("candidate; production is v{}", production.map_or("none".into(), |p| p.to_string()))
    };
    println!(
        "registered {name} v{} in {} ({role}); {} rows from {}: {} train / {} holdout, {:.2} s",
        reg.version,
        registry.location(),
        meta.training.rows,
        meta.training.source,
        meta.training.train_rows,
        meta.training.holdout_rows,
        meta.training.seconds
    );
    Ok(())
}

/// The column mapping of a CSV source on `schema`, if the program has one.
fn csv_columns(program: &housing_flow::program::Program, schema: &str) -> Vec<(String, String)> {
    program
        .sources
        .iter()
        .filter(|s| s.schema == schema)
        .find_map(|s| match &s.kind {
            SourceKind::Csv { columns, .. } => Some(columns.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn print_metrics(m: &HoldoutMetrics, alphas: &[f64]) {
    let interval = match (m.coverage, m.nominal_coverage, alphas.first(), alphas.last()) {
        (Some(c), Some(n), Some(a), Some(b)) => {
            format!("{:.1}% in [q{a}, q{b}] (nominal {:.0}%)", c * 100.0, n * 100.0)
        }
        _ => "-".to_string(),
    };
    println!("holdout      {:>8} {:>14} {:>14}   interval coverage", "R²", "RMSE", "MAE");
    println!("  lightgbm   {:>8.4} {:>14.1} {:>14.1}   {interval}", m.r2, m.rmse, m.mae);
    println!("  linear     {:>8.4} {:>14.1} {:>14.1}   -", m.baseline_r2, m.baseline_rmse, m.baseline_mae);
}
