//! `housing-flow models list|show|promote|rollback [--registry DIR]`

use anyhow::bail;
use clap::{Args, Subcommand};
use housing_flow::model::ModelMeta;
use housing_flow::program::FeatureType;
use housing_flow::registry::{Registry, RegistryError};

/// Arguments of `models`.
#[derive(Args)]
pub struct ModelsArgs {
    /// The registry: a directory, or an MLflow tracking server's http(s):// URL.
    #[arg(long, global = true, default_value = "models")]
    registry: String,
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Print every model with its versions, production and candidate.
    List,
    /// Print a version's metrics, features, training data and checksum status.
    ///
    /// Exit status 1 when the version is corrupt.
    Show {
        name: String,
        /// The version (default: production, else candidate).
        version: Option<u32>,
        /// Print meta.json instead.
        #[arg(long)]
        json: bool,
    },
    /// Make VERSION production after checking every file; a corrupt version is refused.
    Promote {
        name: String,
        version: u32,
        /// Why, recorded in the model's history.
        #[arg(long, default_value = "promoted from the command line")]
        reason: String,
    },
    /// Move production back to the previous intact production version.
    Rollback {
        name: String,
        /// Why, recorded in the model's history.
        #[arg(long, default_value = "rolled back from the command line")]
        reason: String,
    },
}

pub fn run(args: &ModelsArgs) -> anyhow::Result<()> {
    let reg = housing_flow::registry::open_location(&args.registry)?;
    let reg = reg.as_ref();
    match &args.command {
        ModelsCommand::List => list(reg),
        ModelsCommand::Show { name, version, json } => show(reg, name, *version, *json),
        ModelsCommand::Promote { name, version, reason } => promote(reg, name, *version, reason),
        ModelsCommand::Rollback { name, reason } => rollback(reg, name, reason),
    }
}

fn list(reg: &dyn Registry) -> anyhow::Result<()> {
    let models = reg.list()?;
    if models.is_empty() {
        println!("no models in {}", reg.location());
        return Ok(());
    }
    let opt = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    let header = ["NAME", "VERSIONS", "LATEST", "PRODUCTION", "CANDIDATE"].map(String::from);
    let rows: Vec<[String; 5]> = models
        .iter()
        .map(|m| {
            [
                m.name.clone(),
                m.versions.len().to_string(),
                opt(m.versions.last().copied()),
                opt(m.production),
                opt(m.candidate),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}

fn show(reg: &dyn Registry, name: &str, version: Option<u32>, json: bool) -> anyhow::Result<()> {
    let production = reg.production(name)?;
    let candidate = reg.candidate(name)?;
    let Some(version) = version.or(production).or(candidate) else {
        bail!("model `{name}` has no production or candidate version; pass a VERSION");
    };
    let meta = reg.meta(name, version)?;
    // The summary is still worth printing for a corrupt version; only the exit status says it failed.
    let problem = match reg.load(name, version) {
        Ok(_) => None,
        Err(e @ RegistryError::Corrupt { .. }) => Some(e),
        Err(e) => return Err(e.into()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&meta)?);
    } else {
        let pointers: Vec<&str> = [("production", production), ("candidate", candidate)]
            .into_iter()
            .filter(|&(_, v)| v == Some(version))
            .map(|(p, _)| p)
            .collect();
        print!("{}", summary(&meta, &pointers, problem.as_ref()));
    }
    match problem {
        None => Ok(()),
        Some(e) => Err(e.into()),
    }
}

/// The text `show` prints for one version.
fn summary(meta: &ModelMeta, pointers: &[&str], problem: Option<&RegistryError>) -> String {
    let mut out = format!("{} version {}", meta.name, meta.version);
    if !pointers.is_empty() {
        out += &format!(" ({})", pointers.join(", "));
    }
    out += "\n";
    let mut line = |key: &str, value: String| out += &format!("{:<11} {value}\n", format!("{key}:"));
    if meta.external {
        let features: Vec<&str> = meta.features.iter().map(|f| f.name.as_str()).collect();
        line("features", format!("{}: {}", features.len(), features.join(", ")));
        line("origin", meta.training.source.clone());
        line("note", "logged outside housing-flow: no training data, metrics, baselines or checksums are known".into());
        return out;
    }
    line("created", meta.created.clone());
    line("label", meta.label.clone());
    let features: Vec<String> = meta.features.iter().map(|f| format!("{} ({})", f.name, kind(f.kind))).collect();
    line("features", format!("{}: {}", features.len(), features.join(", ")));
    if !meta.categories.is_empty() {
        let cats: Vec<String> = meta.categories.iter().map(|(f, c)| format!("{f} ({} categories)", c.len())).collect();
        line("categories", cats.join(", "));
    }
    let t = &meta.training;
    line(
        "training",
        format!(
            "{}: {} rows ({} train, {} holdout), seed {}, {:.1} s",
            t.source, t.rows, t.train_rows, t.holdout_rows, t.seed, t.seconds
        ),
    );
    line("data hash", t.data_hash.clone());
    let m = &meta.metrics;
    line("holdout", format!("r2 {:.4}  rmse {}  mae {}", m.r2, num(m.rmse), num(m.mae)));
    line(
        "baseline",
        format!(
            "r2 {:.4}  rmse {}  mae {}  (linear, same holdout)",
            m.baseline_r2,
            num(m.baseline_rmse),
            num(m.baseline_mae)
        ),
    );
    if !meta.quantiles.is_empty() {
        let alphas: Vec<String> = meta.quantiles.iter().map(|q| q.alpha.to_string()).collect();
        let coverage = match (m.coverage, m.nominal_coverage) {
            (Some(c), Some(n)) => format!(", coverage {c:.3} (nominal {n:.3})"),
            _ => String::new(),
        };
        line("quantiles", format!("{}{coverage}", alphas.join(", ")));
    }
    let files: Vec<&str> = meta.checksums.keys().map(String::as_str).collect();
    line("files", files.join(", "));
    line(
        "checksums",
        match problem {
            None => format!("ok ({} files)", files.len()),
            Some(RegistryError::Corrupt { file, reason, .. }) => format!("CORRUPT: {file}: {reason}"),
            Some(e) => format!("CORRUPT: {e}"),
        },
    );
    out
}

fn kind(k: FeatureType) -> &'static str {
    match k {
        FeatureType::Numeric => "numeric",
        FeatureType::Bool => "bool",
        FeatureType::Category => "category",
        FeatureType::Text => "text",
    }
}

/// Prices run to hundreds of thousands; small errors need decimals.
fn num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.4}")
    }
}

fn promote(reg: &dyn Registry, name: &str, version: u32, reason: &str) -> anyhow::Result<()> {
    let before = reg.production(name)?;
    if let Err(e) = reg.promote(name, version, reason) {
        if matches!(e, RegistryError::Corrupt { .. }) {
            return Err(anyhow::Error::new(e).context("refusing to promote"));
        }
        return Err(e.into());
    }
    match before {
        Some(v) if v == version => println!("{name}: version {version} is already production"),
        Some(v) => println!("{name}: production {v} → {version}"),
        None => println!("{name}: production none → {version}"),
    }
    Ok(())
}

fn rollback(reg: &dyn Registry, name: &str, reason: &str) -> anyhow::Result<()> {
    let before = reg.production(name)?;
    let to = reg.rollback(name, reason)?;
    let from = before.map_or("none".to_string(), |v| v.to_string());
    println!("{name}: production {from} → {to} (rolled back)");
    Ok(())
}
