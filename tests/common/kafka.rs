//! A real Kafka-protocol broker (tansu) for tests: started on a free 127.0.0.1 port with the
//! in-memory engine or a sqlite file, topics created with tansu's own CLI, killed when the
//! test ends (also when it fails); and readers that take a whole topic back.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the broker keeps its data.
#[derive(Clone, Debug)]
pub enum Storage {
    Memory,
    /// A sqlite file: the data survives a broker restart.
    Sqlite(PathBuf),
}

/// A record as sent: key and value, either possibly absent.
pub type RawRecord<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// A running tansu broker, killed on drop.
pub struct Broker {
    child: Option<Child>,
    pub port: u16,
    pub addr: String,
    storage: Storage,
    dir: PathBuf,
}

/// The tansu binary: on PATH or in cargo's bin folder; fails naming `make deps` otherwise.
pub fn tansu() -> PathBuf {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin/tansu"));
    let on_path =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("tansu")).find(|t| t.exists()));
    on_path.or(cargo_bin.filter(|t| t.exists())).expect("no `tansu` broker on PATH or in ~/.cargo/bin; run `make deps`")
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Broker {
    /// A broker keeping everything in memory.
    pub fn start(dir: &Path) -> Broker {
        Self::with_storage(dir, Storage::Memory)
    }

    /// A broker keeping its data in `dir/broker.db`.
    pub fn start_sqlite(dir: &Path) -> Broker {
        Self::with_storage(dir, Storage::Sqlite(dir.join("broker.db")))
    }

    fn with_storage(dir: &Path, storage: Storage) -> Broker {
        let port = free_port();
        let mut b = Broker { child: None, port, addr: format!("127.0.0.1:{port}"), storage, dir: dir.to_path_buf() };
        b.spawn();
        b
    }

    fn spawn(&mut self) {
        let url = format!("tcp://{}", self.addr);
        let engine = match &self.storage {
            Storage::Memory => "memory://tansu/".to_string(),
            // tansu reads a sqlite path relative to its working folder, `dir`.
            Storage::Sqlite(path) => format!("sqlite://{}", path.file_name().unwrap().to_string_lossy()),
        };
        let log = std::fs::File::create(self.dir.join(format!("tansu-{}.log", self.port))).unwrap();
        let child = Command::new(tansu())
            .current_dir(&self.dir)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url, "--storage-engine", &engine])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&self.addr).is_err() {
            let log = std::fs::read_to_string(self.dir.join(format!("tansu-{}.log", self.port))).unwrap_or_default();
            assert!(Instant::now() < deadline, "tansu did not listen on {} within 20 s:\n{log}", self.addr);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the broker (SIGKILL), as a crash would.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same storage.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        let url = format!("tcp://{}", self.addr);
        let out = Command::new(tansu())
            .args(["topic", "create", topic, "--partitions", &partitions.to_string(), "--broker", &url])
            .output()
            .expect("tansu topic create runs");
        assert!(
            out.status.success(),
            "tansu topic create {topic}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Wait until the broker reports the topic with its partitions.
        let client: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &self.addr).create().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(m) = client.fetch_metadata(Some(topic), Duration::from_secs(2)) {
                if m.topics().iter().any(|t| t.name() == topic && t.partitions().len() == partitions as usize) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "topic {topic} did not appear");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends raw records (key, value) to `topic` and waits for them to be acknowledged.
    pub fn send_raw(&self, topic: &str, records: &[RawRecord<'_>]) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("enable.idempotence", "false")
            .set("message.max.bytes", "2000000")
            .create()
            .unwrap();
        for (key, value) in records {
            let mut r: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
            if let Some(k) = key {
                r = r.key(*k);
            }
            if let Some(v) = value {
                r = r.payload(*v);
            }
            producer.send(r).map_err(|(e, _)| e).unwrap();
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One record read back: key, value, headers.
#[derive(Clone, Debug)]
pub struct Read {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: BTreeMap<String, String>,
}

/// Reads `topic` from the beginning, handing each record to `take`, until `take` says it has
/// enough (returns true) or `timeout` passes; returns every record read.
pub fn read_topic(addr: &str, topic: &str, timeout: Duration, mut take: impl FnMut(&Read) -> bool) -> Vec<Read> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", addr)
        .set("group.id", format!("test-reader-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).unwrap();
    let partitions = metadata.topics().iter().find(|t| t.name() == topic).unwrap().partitions().len();
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| {
                                (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let record = Read { key: m.key().map(<[u8]>::to_vec), value: m.payload().map(<[u8]>::to_vec), headers };
                let enough = take(&record);
                out.push(record);
                if enough {
                    break;
                }
            }
            Some(Err(e)) => eprintln!("reading {topic}: {e}"),
            None => {}
        }
    }
    out
}
