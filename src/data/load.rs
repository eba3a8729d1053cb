//! Loading a whole data set into memory: what `train` reads.

use super::csv_source::read_csv;
use super::generator::Generator;
use super::Event;
use crate::program::{Schema, SourceKind};
use std::path::{Path, PathBuf};

/// Events loaded for training, with the rows that were rejected and a description.
pub struct Loaded {
    pub events: Vec<Event>,
    /// One line per rejected row: where and why.
    pub rejected: Vec<String>,
    /// E.g. `generate(housing, seed 7, 20000 rows)` or a CSV path.
    pub description: String,
}

/// Reads a finite source: the generator with `rows:`, or a CSV file. A relative CSV path
/// is tried from the working directory first, then from `file_dir` (the `.hf` file's folder).
pub fn training_events(spec: &SourceKind, schema: &Schema, file_dir: &Path) -> Result<Loaded, String> {
    match spec {
        SourceKind::Generate { seed, rows, .. } => {
            let n = rows.ok_or("the generator needs `rows:` to produce training data")?;
            let generator = Generator::new(schema, *seed)?;
            let events = generator.rows(n as usize);
            Ok(Loaded {
                events,
                rejected: Vec::new(),
                description: format!("generate({}, seed {seed}, {n} rows)", schema.name),
            })
        }
        SourceKind::Csv { path, columns, delimiter, .. } => {
            let path = resolve(path, file_dir);
            let data = read_csv(&path, schema, columns, *delimiter).map_err(|e| e.to_string())?;
            Ok(Loaded {
                rejected: data.rejected.iter().map(|r| r.to_string()).collect(),
                events: data.events,
                description: path.display().to_string(),
            })
        }
        SourceKind::Kafka { topic, .. } => Err(format!("cannot train on the Kafka topic `{topic}`: it has no end")),
    }
}

fn resolve(path: &str, file_dir: &Path) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() || p.exists() {
        return p;
    }
    let beside = file_dir.join(&p);
    if beside.exists() {
        beside
    } else {
        p
    }
}
