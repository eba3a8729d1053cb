//! `housing-flow produce FILE --topic T [--rate R] [--events N]`: streams the file's generated
//! or CSV events into a Kafka topic as JSON (the schema's fields plus `id` and `ts`), keyed by
//! event id, and prints what it sent per partition once the broker has acknowledged it all.

use super::checked;
use anyhow::{bail, Context};
use housing_flow::data::csv_source::{CsvReader, Row};
use housing_flow::data::dead_letter::event_json;
use housing_flow::data::generator::Generator;
use housing_flow::data::shift::Shift;
use housing_flow::data::Event;
use housing_flow::kafka::producer::Record;
use housing_flow::kafka::{Acks, Brokers, KafkaProducer};
use housing_flow::program::{Program, Schema, Setting, SinkTarget, Source, SourceKind};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `produce`.
#[derive(clap::Args, Debug)]
pub struct ProduceArgs {
    pub file: PathBuf,
    /// The topic to write to (it must exist).
    #[arg(long)]
    pub topic: String,
    /// Events per second, e.g. `50k/s`, `2000`; `unlimited` (the default) sends as fast as
    /// the broker takes them.
    #[arg(long, value_parser = parse_rate, default_value = "unlimited")]
    pub rate: Rate,
    /// How many events, e.g. `1M`, `200k`, `5000` (default: all a CSV source holds; a
    /// generator needs a number).
    #[arg(long, value_parser = parse_count)]
    pub events: Option<u64>,
    /// The source to send (by default the file's first generate(...) or csv(...) source).
    #[arg(long)]
    pub source: Option<String>,
    /// Brokers, `host:port[,...]` (by default those the file names for the topic, else
    /// $KAFKA_BROKERS, else 127.0.0.1:9092).
    #[arg(long)]
    pub brokers: Option<String>,
    /// Shift a numeric field from an event on, as `run --shift` does, e.g. `Avg_Area_Income*1.2@50000`.
    #[arg(long)]
    pub shift: Option<String>,
}

/// A send rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Unlimited,
    PerSecond(f64),
}

/// `1M`, `200k`, `1_000`, `5000` → a count (k, M, G are powers of 1000).
pub fn parse_count(text: &str) -> Result<u64, String> {
    let t = text.trim().replace('_', "");
    let (digits, scale) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('M') => (&t[..t.len() - 1], 1e6),
        Some('G') => (&t[..t.len() - 1], 1e9),
        _ => (t.as_str(), 1.0),
    };
    let v: f64 = digits.parse().map_err(|_| format!("`{text}` is not a count like 5000, 200k or 1M"))?;
    let n = v * scale;
    if !(n >= 0.0 && n.fract() == 0.0 && n < 1.8e19) {
        return Err(format!("`{text}` is not a whole, non-negative count"));
    }
    Ok(n as u64)
}

/// `50k/s`, `2000`, `unlimited` → a rate.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let t = text.trim();
    if t == "unlimited" {
        return Ok(Rate::Unlimited);
    }
    let n = parse_count(t.strip_suffix("/s").unwrap_or(t)).map_err(|_| format!("`{text}` is not a rate like 50k/s"))?;
    if n == 0 {
        return Err("a rate must be above 0 (or `unlimited`)".into());
    }
    Ok(Rate::PerSecond(n as f64))
}

/// The events a source yields, one at a time.
enum Events {
    Generate { generator: Generator, next: u64, end: u64 },
    Csv(Box<CsvReader<std::fs::File>>, u64),
}

impl Events {
    fn open(source: &Source, schema: &Schema, events: Option<u64>) -> anyhow::Result<Events> {
        match &source.kind {
            SourceKind::Generate { seed, rows, .. } => {
                let Some(end) = events.or(*rows) else {
                    bail!("source `{}` generates without end; say how many with --events", source.name)
                };
                Ok(Events::Generate {
                    generator: Generator::new(schema, *seed).map_err(anyhow::Error::msg)?,
                    next: 0,
                    end,
                })
            }
            SourceKind::Csv { path, columns, delimiter, .. } => {
                let reader = CsvReader::open(Path::new(path), schema, columns, *delimiter)
                    .map_err(|e| anyhow::anyhow!("source `{}`: {e}", source.name))?;
                Ok(Events::Csv(Box::new(reader), events.unwrap_or(u64::MAX)))
            }
            SourceKind::Kafka { .. } => {
                bail!("source `{}` reads Kafka; produce sends generated or CSV events", source.name)
            }
        }
    }

    /// The next event; CSV rows that are not events are skipped with a warning.
    fn next(&mut self) -> anyhow::Result<Option<Event>> {
        match self {
            Events::Generate { generator, next, end } => {
                if *next >= *end {
                    return Ok(None);
                }
                *next += 1;
                Ok(Some(generator.event(*next - 1)))
            }
            Events::Csv(reader, left) => loop {
                if *left == 0 {
                    return Ok(None);
                }
                match reader.next_row().map_err(|e| anyhow::anyhow!("{e}"))? {
                    Some(Row::Event(e)) => {
                        *left -= 1;
                        return Ok(Some(e));
                    }
                    Some(Row::Rejected(r)) => tracing::warn!("skipped: {r}"),
                    None => return Ok(None),
                }
            },
        }
    }
}

/// The brokers to use: `--brokers`, else those the file names for this topic (or any Kafka
/// source or sink), else $KAFKA_BROKERS, else 127.0.0.1:9092.
fn brokers(program: &Program, topic: &str, flag: Option<&str>) -> anyhow::Result<Brokers> {
    if let Some(b) = flag {
        return Ok(Brokers(b.to_string()));
    }
    let mut named: Vec<(&str, &Setting)> = Vec::new();
    for s in &program.sources {
        if let SourceKind::Kafka { topic, brokers, .. } = &s.kind {
            named.push((topic, brokers));
        }
    }
    for sink in &program.sinks {
        for t in &sink.targets {
            if let SinkTarget::Kafka { topic, brokers } = t {
                named.push((topic, brokers));
            }
        }
    }
    let setting = named
        .iter()
        .find(|(t, _)| *t == topic)
        .or(named.first())
        .map(|(_, s)| (*s).clone())
        .unwrap_or_else(Setting::default_kafka_brokers);
    Brokers::resolve(&setting).map_err(anyhow::Error::msg)
}

pub fn run(args: &ProduceArgs) -> anyhow::Result<()> {
    let program = checked(&args.file)?.program.expect("a clean check has a program");
    let source = match &args.source {
        Some(name) => {
            program.sources.iter().find(|s| &s.name == name).with_context(|| format!("no source `{name}`"))?
        }
        None => program
            .sources
            .iter()
            .find(|s| !matches!(s.kind, SourceKind::Kafka { .. }))
            .context("the file declares no generate(...) or csv(...) source to send")?,
    };
    let schema = program.schema(&source.schema).context("the source's schema")?.clone();
    let shift = args
        .shift
        .as_deref()
        .map(|s| Shift::parse(&schema, s))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--shift {e}"))?;
    let brokers = brokers(&program, &args.topic, args.brokers.as_deref())?;
    let mut events = Events::open(source, &schema, args.events)?;
    let producer = KafkaProducer::connect(&brokers, &args.topic).map_err(anyhow::Error::msg)?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::warn!("cannot handle Ctrl-C: {e}");
    }
    let bar = match (
        std::io::stderr().is_terminal(),
        args.events.or(match &source.kind {
            SourceKind::Generate { rows, .. } => *rows,
            _ => None,
        }),
    ) {
        (true, Some(total)) => indicatif::ProgressBar::new(total),
        (true, None) => indicatif::ProgressBar::new_spinner(),
        (false, _) => indicatif::ProgressBar::hidden(),
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let acks = Arc::new(Acks::default());
    let started = Instant::now();
    let mut sent = 0u64;
    let mut last_log = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        if let Rate::PerSecond(r) = args.rate {
            let due = started + Duration::from_secs_f64(sent as f64 / r);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let Some(mut event) = events.next()? else { break };
        if let Some(s) = &shift {
            s.apply(&mut event);
        }
        let mut json = event_json(&schema, &event);
        json["id"] = event.id.into();
        json["ts"] = event.ts_ms.into();
        let value = serde_json::to_vec(&json)?;
        let key = event.id.to_string();
        producer.send(&Record { key: key.as_bytes(), value: &value, headers: &[] }, &acks);
        sent += 1;
        bar.inc(1);
        if bar.is_hidden() && last_log.elapsed() >= Duration::from_secs(1) {
            tracing::info!("sent {sent} events ({:.0}/s)", sent as f64 / started.elapsed().as_secs_f64());
            last_log = Instant::now();
        }
    }
    bar.finish_and_clear();
    producer.flush(Duration::from_secs(60)).map_err(anyhow::Error::msg)?;
    let elapsed = started.elapsed().as_secs_f64();
    let delivered = producer.delivered();
    let (n, bytes) = delivered.values().fold((0, 0), |(n, b), (dn, db)| (n + dn, b + db));
    println!(
        "sent {n} events ({bytes} bytes) to `{}` at {} in {elapsed:.2} s ({:.0} events/s)",
        args.topic,
        brokers.0,
        n as f64 / elapsed.max(1e-9)
    );
    println!("{:>9}  {:>10}  {:>12}", "partition", "events", "bytes");
    for (p, (n, b)) in &delivered {
        println!("{p:>9}  {n:>10}  {b:>12}");
    }
    if acks.failures() > 0 {
        bail!("{} event(s) were refused by the broker: {}", acks.failures(), acks.first_error().unwrap_or_default());
    }
    if n < sent {
        bail!("{} of {sent} events were not acknowledged within 60 s", sent - n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_rates_read_as_people_write_them() {
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert_eq!(parse_count("200k"), Ok(200_000));
        assert_eq!(parse_count("1_500"), Ok(1_500));
        assert_eq!(parse_count("2.5k"), Ok(2_500));
        assert!(parse_count("1.5").is_err());
        assert!(parse_count("-3").is_err());
        assert!(parse_count("lots").is_err());
        assert_eq!(parse_rate("50k/s"), Ok(Rate::PerSecond(50_000.0)));
        assert_eq!(parse_rate("2000"), Ok(Rate::PerSecond(2_000.0)));
        assert_eq!(parse_rate("unlimited"), Ok(Rate::Unlimited));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
    }
}
