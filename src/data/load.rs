//! Loading a whole data set into memory: what `train` reads.

use super::csv_source::read_csv;
use super::generator::Generator;
use super::validate::validate;
use super::Event;
use crate::program::{Schema, SourceKind};
use std::path::Path;

/// Events loaded for training, with the rows that were rejected and a description.
pub struct Loaded {
    pub events: Vec<Event>,
    /// One line per rejected row: where and why.
    pub rejected: Vec<String>,
    /// E.g. `generate(housing, seed 7, 20000 rows)` or a CSV path.
    pub description: String,
}

/// Reads a finite source: the generator with `rows:`, or a CSV file (its path as the checker
/// resolved it against the declaring file).
pub fn training_events(spec: &SourceKind, schema: &Schema) -> Result<Loaded, String> {
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
            let path = Path::new(path);
            let data = read_csv(path, schema, columns, *delimiter).map_err(|e| e.to_string())?;
            let mut rejected: Vec<String> = data.rejected.iter().map(|r| r.to_string()).collect();
            // The same checks as the stream's validate stage: a row the stream would dead-letter
            // is not trained on either.
            let mut events = Vec::with_capacity(data.events.len());
            for e in data.events {
                match validate(schema, &e) {
                    Ok(()) => events.push(e),
                    Err(invalid) => rejected.push(format!("row {}: {invalid}", e.id)),
                }
            }
            Ok(Loaded { rejected, events, description: path.display().to_string() })
        }
        SourceKind::Kafka { topic, .. } => Err(format!("cannot train on the Kafka topic `{topic}`: it has no end")),
    }
}
