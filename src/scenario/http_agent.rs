//! The HTTP traffic agent: open-model arrivals (the schedule says when requests start, not
//! how fast the server answers) sent as `POST /predict` over keep-alive connections to the
//! in-process server. An arrival that finds every connection busy and the queue full is counted
//! as dropped (k6's `dropped_iterations`), never silently skipped. Latency is measured from the
//! arrival's due time, so a slow server cannot hide its queueing (no coordinated omission).

use super::inject::Injector;
use super::schedule::Schedule;
use crate::data::{Event, Value};
use crate::program::Schema;
use hdrhistogram::Histogram;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Connections kept open to the server.
pub const CONNECTIONS: usize = 64;
/// Arrivals that may wait on each connection before new ones are dropped (1,024 in all).
const QUEUE_PER_CONNECTION: usize = 16;
/// How often due arrivals are released.
const TICK: Duration = Duration::from_millis(1);

/// One second of the agent's traffic.
#[derive(Clone, Debug)]
pub struct AgentSecond {
    pub sent: u64,
    pub ok: u64,
    /// Answered 429: shed by a guardrail.
    pub shed: u64,
    /// Failed: any other status, or no answer.
    pub errors: u64,
    pub dropped: u64,
    /// Microseconds from due time to the whole answer.
    pub latency: Histogram<u64>,
}

impl Default for AgentSecond {
    fn default() -> AgentSecond {
        AgentSecond::new()
    }
}

impl AgentSecond {
    /// Adds another second's counts and latencies.
    pub fn add(&mut self, other: &AgentSecond) {
        self.sent += other.sent;
        self.ok += other.ok;
        self.shed += other.shed;
        self.errors += other.errors;
        self.dropped += other.dropped;
        let _ = self.latency.add(&other.latency);
    }

    /// A latency quantile in milliseconds, when any request was answered.
    pub fn ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q) as f64 / 1e3)
    }

    /// This second as a JSON row (`t` is its number, from 1).
    pub fn row(&self, t: usize) -> serde_json::Value {
        serde_json::json!({
            "t": t, "sent": self.sent, "ok": self.ok, "shed": self.shed, "errors": self.errors,
            "dropped": self.dropped, "p50_ms": self.ms(0.5), "p99_ms": self.ms(0.99), "p999_ms": self.ms(0.999),
        })
    }

    fn new() -> AgentSecond {
        AgentSecond {
            sent: 0,
            ok: 0,
            shed: 0,
            errors: 0,
            dropped: 0,
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
        }
    }
}

/// What the agent saw, per second of the scenario.
#[derive(Debug, Default)]
pub struct AgentStats {
    seconds: Mutex<Vec<AgentSecond>>,
}

impl AgentStats {
    fn with<R>(&self, second: usize, f: impl FnOnce(&mut AgentSecond) -> R) -> R {
        let mut all = self.seconds.lock().unwrap_or_else(|p| p.into_inner());
        while all.len() <= second {
            all.push(AgentSecond::new());
        }
        f(&mut all[second])
    }

    /// A copy of every second so far.
    /// One second, when the agent has reached it.
    pub fn second(&self, i: usize) -> Option<AgentSecond> {
        self.seconds.lock().unwrap_or_else(|p| p.into_inner()).get(i).cloned()
    }

    pub fn seconds(&self) -> Vec<AgentSecond> {
        self.seconds.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A request to make: its body and when it was due.
struct Arrival {
    due: Instant,
    second: usize,
    body: Arc<Vec<u8>>,
}

/// Request bodies: the schema's fields (not the label) of generated houses with the drift applied.
fn body(event: &Event, schema: &Schema, label: Option<usize>) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    for (i, (f, v)) in schema.fields.iter().zip(&event.values).enumerate() {
        if Some(i) == label {
            continue;
        }
        match v {
            Value::Num(x) if x.is_finite() => {
                map.insert(f.name.clone(), serde_json::json!(x));
            }
            Value::Text(t) => {
                map.insert(f.name.clone(), serde_json::json!(t));
            }
            Value::Bool(b) => {
                map.insert(f.name.clone(), serde_json::json!(b));
            }
            _ => {}
        }
    }
    serde_json::to_vec(&map).unwrap_or_default()
}

/// Where the agent sends its requests, and with which bodies.
pub struct Requests {
    pub addr: std::net::SocketAddr,
    /// The path every request is `POST`ed to (`/predict`).
    pub path: String,
    pub bodies: Bodies,
}

/// The bodies of the agent's requests.
pub enum Bodies {
    /// Generated houses as JSON (the label left out), drifted while the injector says so.
    Houses { houses: Vec<Event>, schema: Schema, label: Option<usize>, injector: Arc<Injector> },
    /// The same body for every request.
    Fixed(Vec<u8>),
}

/// Runs the agent until `duration` has passed or `stop` is set, on its own thread and runtime.
pub fn start(
    requests: Requests,
    schedule: Schedule,
    duration: Duration,
    started: Instant,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Arc<AgentStats>, std::thread::JoinHandle<()>) {
    let stats = Arc::new(AgentStats::default());
    let out = stats.clone();
    let handle = std::thread::Builder::new()
        .name("http-agent".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!("the HTTP traffic agent cannot start: {e}");
                    return;
                }
            };
            rt.block_on(run(requests, schedule, duration, started, out, stop));
        })
        .expect("the agent thread starts");
    (stats, handle)
}

async fn run(
    requests: Requests,
    schedule: Schedule,
    duration: Duration,
    started: Instant,
    stats: Arc<AgentStats>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let Requests { addr, path, bodies } = requests;
    let head = Arc::new(format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n"));
    let mut workers = Vec::new();
    let mut queues = Vec::new();
    for _ in 0..CONNECTIONS {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Arrival>(QUEUE_PER_CONNECTION);
        queues.push(tx);
        let (stats, head) = (stats.clone(), head.clone());
        workers.push(tokio::spawn(async move {
            let mut conn: Option<TcpStream> = None;
            let mut buf = Vec::with_capacity(4096);
            loop {
                let Some(arrival) = rx.recv().await else { break };
                let status = request(&mut conn, addr, &head, &arrival.body, &mut buf).await;
                let micros = arrival.due.elapsed().as_micros().clamp(1, 60_000_000) as u64;
                stats.with(arrival.second, |s| {
                    let _ = s.latency.record(micros);
                    match status {
                        Some(200..=299) => s.ok += 1,
                        Some(429) => s.shed += 1,
                        _ => s.errors += 1,
                    }
                });
            }
        }));
    }
    // Bodies without drift are made once per house; drifted ones per request.
    let plain: Vec<Arc<Vec<u8>>> = match &bodies {
        Bodies::Houses { houses, schema, label, .. } => {
            houses.iter().map(|h| Arc::new(body(h, schema, *label))).collect()
        }
        Bodies::Fixed(b) => vec![Arc::new(b.clone())],
    };
    let mut issued = 0u64;
    let mut n = 0usize;
    let mut next_queue = 0usize;
    let seconds = duration.as_secs_f64();
    loop {
        let elapsed = started.elapsed().as_secs_f64();
        if elapsed >= seconds || stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let due_total = schedule.cumulative(elapsed) as u64;
        while issued < due_total {
            // When this arrival was due: where the schedule's integral crossed it (close enough at 1 ms ticks).
            let due = started + Duration::from_secs_f64(elapsed);
            let second = elapsed as usize;
            let elapsed_ms = (elapsed * 1e3) as u64;
            let k = n % plain.len();
            n += 1;
            let body = match &bodies {
                Bodies::Houses { houses, schema, label, injector } if injector.alters_inputs(elapsed_ms) => {
                    let mut event = houses[k].clone();
                    injector.apply_event(elapsed_ms, &mut event);
                    Arc::new(body(&event, schema, *label))
                }
                _ => plain[k].clone(),
            };
            // The first connection, from the next in turn, with room in its queue.
            let mut arrival = Some(Arrival { due, second, body });
            for i in 0..CONNECTIONS {
                let q = (next_queue + i) % CONNECTIONS;
                match queues[q].try_send(arrival.take().expect("an arrival to place")) {
                    Ok(()) => {
                        next_queue = q + 1;
                        break;
                    }
                    Err(
                        tokio::sync::mpsc::error::TrySendError::Full(a)
                        | tokio::sync::mpsc::error::TrySendError::Closed(a),
                    ) => arrival = Some(a),
                }
            }
            if arrival.is_some() {
                stats.with(second, |s| s.dropped += 1);
            } else {
                stats.with(second, |s| s.sent += 1);
            }
            issued += 1;
        }
        tokio::time::sleep(TICK).await;
    }
    drop(queues);
    for w in workers {
        let _ = w.await;
    }
}

/// One `POST /predict` on a kept-alive connection (opened or reopened as needed); whether it
/// got a 2xx answer.
async fn request(
    conn: &mut Option<TcpStream>,
    addr: std::net::SocketAddr,
    head: &str,
    body: &[u8],
    buf: &mut Vec<u8>,
) -> Option<u16> {
    for _attempt in 0..2 {
        if conn.is_none() {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    *conn = Some(s);
                }
                Err(_) => return None,
            }
        }
        let stream = conn.as_mut()?;
        let mut wire = Vec::with_capacity(head.len() + body.len() + 32);
        wire.extend_from_slice(head.as_bytes());
        wire.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        wire.extend_from_slice(body);
        if stream.write_all(&wire).await.is_err() {
            *conn = None;
            continue;
        }
        match read_response(stream, buf).await {
            Some((status, close)) => {
                if close {
                    *conn = None;
                }
                return Some(status);
            }
            None => {
                *conn = None;
                continue;
            }
        }
    }
    None
}

/// Reads one response (status line, headers, a Content-Length body): its status and whether
/// the server closes the connection.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(u16, bool)> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..header_end]).ok()?;
    let status: u16 = head.split(' ').nth(1)?.parse().ok()?;
    let mut length = 0usize;
    let mut close = false;
    for line in head.lines().skip(1) {
        let Some((k, v)) = line.split_once(':') else { continue };
        if k.eq_ignore_ascii_case("content-length") {
            length = v.trim().parse().ok()?;
        } else if k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close") {
            close = true;
        }
    }
    while buf.len() < header_end + length {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk)).await.ok()?.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((status, close))
}
