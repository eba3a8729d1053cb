//! `housing-flow train FILE [--data CSV]`

use super::checked_or_exit;
use housing_flow::model::meta::HoldoutMetrics;
use housing_flow::model::train::train_and_register;
use housing_flow::plan;
use housing_flow::program::SourceKind;
use housing_flow::registry::Registry;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What `train` was asked to do.
pub struct Args {
    pub file: PathBuf,
    pub data: Option<PathBuf>,
    pub model: Option<String>,
    pub registry: Option<PathBuf>,
    /// Do nothing when the registry already has a production version.
    pub if_missing: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let checked = match checked_or_exit(&args.file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let program = checked.program.expect("a clean check has a program");
    let plan = plan::lower(&program, 1);
    let chosen = match &args.model {
        Some(name) => plan.models.iter().find(|m| &m.model.name == name),
        None => plan.models.first(),
    };
    let Some(model) = chosen else {
        let names: Vec<&str> = plan.models.iter().map(|m| m.model.name.as_str()).collect();
        match &args.model {
            Some(n) => {
                eprintln!("error: `{}` declares no model `{n}` (models: {})", args.file.display(), names.join(", "))
            }
            None => eprintln!("error: `{}` declares no model to train", args.file.display()),
        }
        return ExitCode::from(1);
    };
    let root = args.registry.clone().unwrap_or_else(|| PathBuf::from(&model.model.registry));
    let registry = Registry::open(&root);
    if args.if_missing {
        if let Ok(Some(v)) = registry.production(&model.model.name) {
            println!("{} v{v} is in production in {}; not training", model.model.name, root.display());
            return ExitCode::SUCCESS;
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
        (None, None) => {
            eprintln!(
                "error: model `{}` declares no training data; add `train: generate(...)` or `train: csv(...)`, or pass --data FILE.csv",
                model.model.name
            );
            return ExitCode::from(1);
        }
    };
    let file_dir = args.file.parent().unwrap_or(Path::new(""));
    eprintln!("training `{}` ...", model.model.name);
    match train_and_register(model, &spec, file_dir, &registry) {
        Ok(reg) => {
            if !reg.rejected.is_empty() {
                eprintln!(
                    "warning: {} training row(s) were rejected; the first: {}",
                    reg.rejected.len(),
                    reg.rejected[0]
                );
            }
            let meta = &reg.meta;
            print_metrics(&meta.metrics, &meta.quantiles.iter().map(|q| q.alpha).collect::<Vec<_>>());
            let production = registry.production(&model.model.name).ok().flatten();
            let role = if production == Some(reg.version) {
                "production".to_string()
            } else {
                format!("candidate; production is v{}", production.map_or("none".into(), |p| p.to_string()))
            };
            println!(
                "registered {} v{} in {} ({role}); {} rows from {}: {} train / {} holdout, {:.2} s",
                model.model.name,
                reg.version,
                root.display(),
                meta.training.rows,
                meta.training.source,
                meta.training.train_rows,
                meta.training.holdout_rows,
                meta.training.seconds
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
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
