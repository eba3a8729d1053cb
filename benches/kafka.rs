//! Kafka end to end against the broker alone, on one machine (`cargo bench --bench kafka`):
//! a tansu broker (memory engine) on a free port, topics of 8 partitions, then
//!   1. the broker alone: 1M records of a house's size produced, then consumed, with rdkafka;
//!   2. `housing-flow produce pipelines/kafka.hf` of 1M generated events;
//!   3. `housing-flow run pipelines/kafka.hf --workers 2 --drain`: raw_housing → predictions;
//!   4. the same pipeline on its generator (`bench pipelines/main.hf --workers 2`), for scale.
//!
//! It prints events/s for each and the pipeline's share of what the broker alone carries.
//! `HF_KAFKA_BENCH_EVENTS` changes the 1M.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PARTITIONS: u32 = 8;

fn tansu() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cargo"));
    let in_cargo = home.join("bin/tansu");
    if in_cargo.exists() {
        return in_cargo;
    }
    PathBuf::from("tansu")
}

struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_housing-flow")).current_dir(dir).args(args).output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "housing-flow {args:?} failed:\n{text}");
    text
}

/// events/s from a run summary line `summary: N events in S s (R events/s) ...`.
fn summary_rate(text: &str) -> f64 {
    let line = text.lines().find(|l| l.contains("summary:")).unwrap_or_else(|| panic!("no summary in:\n{text}"));
    let inner = line.split('(').nth(1).and_then(|s| s.split_whitespace().next()).expect("rate");
    inner.parse().expect("a number")
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let events: u64 = std::env::var("HF_KAFKA_BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("hf-kafka-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let url = format!("tcp://{addr}");
    let _broker = Broker(
        Command::new(tansu())
            .current_dir(&dir)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts (run `make deps`)"),
    );
    while std::net::TcpStream::connect(&addr).is_err() {
        std::thread::sleep(Duration::from_millis(50));
    }
    for topic in ["raw_housing", "predictions", "raw_housing.dlq", "broker_alone"] {
        let status = Command::new(tansu())
            .args(["topic", "create", topic, "--partitions", &PARTITIONS.to_string(), "--broker", &url])
            .status()
            .expect("tansu topic create");
        assert!(status.success());
    }
    std::thread::sleep(Duration::from_millis(500));

    // 1. The broker alone: records of a house's JSON size.
    let value = br#"{"Avg_Area_Income":68583.1089835779,"Avg_Area_House_Age":5.97722236519212,"Avg_Area_Number_of_Rooms":6.98779226011596,"Avg_Area_Number_of_Bedrooms":3.98133031302735,"Area_Population":36163.5160385766,"Price":1232072.65414236,"Address":"4260 Kathryn Ports Suite 555, Lake Jordanstad, VT 38154","id":123456,"ts":1764460800000}"#;
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("enable.idempotence", "false")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "200000")
        .create()
        .unwrap();
    let started = Instant::now();
    for i in 0..events {
        let key = i.to_string();
        let mut record = BaseRecord::<str, [u8]>::to("broker_alone").key(key.as_str()).payload(&value[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    let produce_alone = events as f64 / started.elapsed().as_secs_f64();
    // The settings of the pipeline's own consumer (src/kafka/consumer.rs).
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &addr)
        .set("group.id", "bench")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "50")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS as i32 {
        tpl.add_partition_offset("broker_alone", p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let started = Instant::now();
    let mut read = 0u64;
    while read < events && started.elapsed() < Duration::from_secs(300) {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            // Touch the payload as a consumer would.
            read += u64::from(m.payload().is_some_and(|p| !p.is_empty()));
        }
    }
    let consume_alone = read as f64 / started.elapsed().as_secs_f64();

    // 2–3. The pipeline's files, pointed at this broker.
    let main = std::fs::read_to_string(root.join("pipelines/main.hf"))
        .unwrap()
        .replace("\"../models\"", "\"models\"")
        .replace("\"../out/", "\"out/");
    std::fs::write(dir.join("main.hf"), main).unwrap();
    let kafka = std::fs::read_to_string(root.join("pipelines/kafka.hf"))
        .unwrap()
        .replace(r#"env("KAFKA_BROKERS", "127.0.0.1:9092")"#, &format!("\"{addr}\""));
    std::fs::write(dir.join("kafka.hf"), kafka).unwrap();
    run(&dir, &["train", "main.hf"]);
    let n = events.to_string();
    let started = Instant::now();
    run(&dir, &["produce", "kafka.hf", "--topic", "raw_housing", "--events", &n]);
    let produce = events as f64 / started.elapsed().as_secs_f64();
    let out = run(&dir, &["run", "kafka.hf", "--workers", "2", "--drain", "--port", "0"]);
    let pipeline = summary_rate(&out);
    let generator_out = run(&dir, &["bench", "main.hf", "--workers", "2", "--events", &n]);
    let generator = generator_out
        .lines()
        .find(|l| l.trim_start().starts_with('2'))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.replace(',', "").parse::<f64>().ok())
        .unwrap_or(f64::NAN);

    println!("Kafka end to end, {events} events, {PARTITIONS} partitions, tansu 0.6 memory engine, 2 workers");
    println!("  broker alone, rdkafka produce          {produce_alone:>12.0} events/s");
    println!("  broker alone, rdkafka consume          {consume_alone:>12.0} events/s");
    println!("  housing-flow produce (generator→topic) {produce:>12.0} events/s");
    println!(
        "  housing-flow run kafka.hf --drain      {pipeline:>12.0} events/s  = {:.0}% of the broker's consume rate",
        100.0 * pipeline / consume_alone
    );
    println!("  housing-flow bench main.hf (generator) {generator:>12.0} events/s");
    let _ = std::fs::remove_dir_all(&dir);
}
