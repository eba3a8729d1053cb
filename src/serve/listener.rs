//! The accept loop: HTTP/1.1 connections with a deadline for each request's headers and caps
//! on open connections, in all and per client address.
//!
//! - **Header deadline.** A connection must deliver a request's complete headers within
//!   [`Limits::header_timeout`], counted from the moment it is waiting for one: from the
//!   connect, and again from the end of each response. So a silent or trickling client
//!   (slowloris) is closed at the deadline, and the same deadline is the keep-alive idle
//!   timeout. Bodies are then bounded by the per-request timeout of [`super::with_deadline`].
//! - **Caps.** At most [`Limits::max_connections`] connections are open at once, and at most
//!   [`Limits::max_connections_per_client`] from one IP address, so a few clients holding
//!   connections cannot take every slot from the others. A connection over a cap is answered
//!   `503` with a JSON error, `Retry-After: 1` and `Connection: close`, and closed.
//!
//! - **Threads.** Connections are accepted on one thread and each is served, for its whole
//!   life, by one of [`ConnectionThreads`]: a single-threaded runtime per CPU, pinned to it.
//!   A connection goes to the thread on the CPU its packets arrive on ([`affinity::choose`]),
//!   so no request wakes another thread or CPU (a work-stealing runtime does, and on a small
//!   machine those wakeups cost more than the request).
//!
//! A connection is a task, not a thread, so a held connection costs memory (a few KiB) and a
//! descriptor, never a handler.

use super::affinity;
use super::AppState;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long connections still open at shutdown may take to finish their request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How long a refused client gets to receive its 503 (and finish sending) before the socket
/// is dropped.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// The server's connection limits (`serve http(header_timeout: ..., max_connections: ...,
/// max_connections_per_client: ...)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { header_timeout: Duration::from_secs(10), max_connections: 1024, max_connections_per_client: 256 }
    }
}

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// [`Limits::max_connections`] are open.
    Full,
    /// [`Limits::max_connections_per_client`] are open from this client's address.
    Client,
}

impl Refusal {
    /// The label of `housing_flow_http_connections_refused_total`.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Full => "max_connections",
            Refusal::Client => "max_connections_per_client",
        }
    }

    fn message(self, limits: &Limits) -> String {
        match self {
            Refusal::Full => format!("the server has {} connections open, its limit", limits.max_connections),
            Refusal::Client => format!(
                "this client address has {} connections open, the limit per client",
                limits.max_connections_per_client
            ),
        }
    }
}

/// Open connections in all and per client address.
#[derive(Debug, Default)]
pub struct OpenConnections {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

impl OpenConnections {
    /// Counts a new connection from `client`, or says which cap it would break.
    pub fn admit(&mut self, client: IpAddr, limits: &Limits) -> Result<(), Refusal> {
        if self.total >= limits.max_connections {
            return Err(Refusal::Full);
        }
        let mine = self.per_client.entry(client).or_default();
        if *mine >= limits.max_connections_per_client {
            if *mine == 0 {
                self.per_client.remove(&client);
            }
            return Err(Refusal::Client);
        }
        *mine += 1;
        self.total += 1;
        Ok(())
    }

    /// Forgets a connection of `client` that [`OpenConnections::admit`] counted.
    pub fn close(&mut self, client: IpAddr) {
        if let Some(mine) = self.per_client.get_mut(&client) {
            *mine -= 1;
            if *mine == 0 {
                self.per_client.remove(&client);
            }
            self.total -= 1;
        }
    }

    /// The number of open connections.
    pub fn total(&self) -> usize {
        self.total
    }
}

/// Uncounts its connection when dropped, however the connection's task ends.
struct Admitted {
    open: Arc<Mutex<OpenConnections>>,
    client: IpAddr,
    state: Arc<AppState>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).close(self.client);
        self.state.http.connections.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The threads that serve accepted connections: each runs a single-threaded runtime until
/// the value is dropped.
pub struct ConnectionThreads {
    threads: Vec<ConnectionThread>,
    /// Dropped with the threads' value, which ends every thread (even one not yet waiting).
    _running: tokio::sync::watch::Sender<()>,
}

struct ConnectionThread {
    runtime: tokio::runtime::Handle,
    /// Connections open on this thread.
    open: Arc<AtomicUsize>,
    /// The CPU the thread is pinned to.
    cpu: Option<usize>,
}

impl ConnectionThreads {
    /// A thread per CPU this process may run on, each pinned to its CPU, named `http-CPU`.
    /// A thread that cannot be pinned runs unpinned (and takes the least loaded's share).
    pub fn per_cpu() -> std::io::Result<ConnectionThreads> {
        Self::spawn(affinity::allowed_cpus().into_iter().map(Some).collect())
    }

    /// `count` unpinned threads (at least one), named `http-1`, `http-2`, ...
    pub fn start(count: usize) -> std::io::Result<ConnectionThreads> {
        Self::spawn(vec![None; count.max(1)])
    }

    fn spawn(cpus: Vec<Option<usize>>) -> std::io::Result<ConnectionThreads> {
        let (running, watch) = tokio::sync::watch::channel(());
        let mut threads = Vec::new();
        for (i, cpu) in cpus.into_iter().enumerate() {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let handle = runtime.handle().clone();
            let mut stopped = watch.clone();
            let (pinned, was_pinned) = std::sync::mpsc::channel();
            let name = format!("http-{}", cpu.unwrap_or(i + 1));
            std::thread::Builder::new().name(name).spawn(move || {
                let pinned_to = cpu.filter(|&cpu| match affinity::pin_to(cpu) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::debug!("HTTP thread not pinned to CPU {cpu}: {e}");
                        false
                    }
                });
                let _ = pinned.send(pinned_to);
                // `changed` fails once the sender is dropped: the runtime and its tasks end.
                runtime.block_on(async move { while stopped.changed().await.is_ok() {} });
            })?;
            let cpu = was_pinned.recv().unwrap_or(None);
            threads.push(ConnectionThread { runtime: handle, open: Arc::default(), cpu });
        }
        Ok(ConnectionThreads { threads, _running: running })
    }

    /// The thread for a connection: the one on the CPU its packets arrive on ([`affinity::choose`]).
    fn for_connection(&self, stream: &TcpStream) -> &ConnectionThread {
        let load: Vec<(Option<usize>, usize)> =
            self.threads.iter().map(|t| (t.cpu, t.open.load(Ordering::Relaxed))).collect();
        &self.threads[affinity::choose(affinity::incoming_cpu(stream), &load)]
    }

    /// How many connections are open on each thread.
    pub fn open(&self) -> Vec<usize> {
        self.threads.iter().map(|t| t.open.load(Ordering::Relaxed)).collect()
    }

    /// The number of threads.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// Whether there are none (never: [`ConnectionThreads::start`] starts at least one).
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }
}

/// Uncounts a connection of its thread when dropped.
struct OnThread(Arc<AtomicUsize>);

impl Drop for OnThread {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts connections on `listener` and serves `router` on them, each on one of `threads`,
/// until `shutdown` completes, then gives open connections [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    state: Arc<AppState>,
    threads: &ConnectionThreads,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let open = Arc::new(Mutex::new(OpenConnections::default()));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a moment
                    // instead of spinning, and keep serving the connections already open.
                    tracing::warn!("HTTP accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let client = peer.ip();
        let admitted = open.lock().unwrap_or_else(|p| p.into_inner()).admit(client, &limits);
        if let Err(refusal) = admitted {
            state.http.connections.refused(refusal);
            tokio::spawn(refuse(stream, refusal.message(&limits)));
            continue;
        }
        state.http.connections.open.fetch_add(1, Ordering::Relaxed);
        let guard = Admitted { open: open.clone(), client, state: state.clone() };
        let thread = threads.for_connection(&stream);
        thread.open.fetch_add(1, Ordering::Relaxed);
        let on_thread = OnThread(thread.open.clone());
        // The socket moves to the thread's runtime: registered with its reactor, polled only there.
        let stream = match stream.into_std().and_then(|s| {
            let _entered = thread.runtime.enter();
            TcpStream::from_std(s)
        }) {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("HTTP connection from {client} could not be handed to a thread: {e}");
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        thread.runtime.spawn(async move {
            let _guards = (guard, on_thread);
            if let Err(e) = connection.await {
                tracing::debug!("HTTP connection from {client} ended: {e}");
            }
        });
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::debug!("HTTP connections still open at shutdown were closed");
    }
}

/// Answers a connection over a cap with 503 and closes it. The request is not read, but
/// what the client sends is drained for a moment after the answer (a lingering close): closing
/// with unread bytes would reset the connection and could destroy the answer before the
/// client reads it.
async fn refuse(mut stream: TcpStream, message: String) {
    let body = serde_json::json!({ "error": message, "kind": "overloaded" }).to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer_and_drain = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, answer_and_drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_client: usize) -> Limits {
        Limits { max_connections: max, max_connections_per_client: per_client, ..Limits::default() }
    }

    #[test]
    fn a_client_at_its_cap_leaves_room_for_others() {
        let limits = limits(5, 2);
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let (a, b, c, d) = (ip("127.0.0.2"), ip("127.0.0.1"), ip("10.0.0.1"), ip("10.0.0.2"));
        let mut open = OpenConnections::default();
        assert_eq!(open.admit(a, &limits), Ok(()));
        assert_eq!(open.admit(a, &limits), Ok(()));
        assert_eq!(open.admit(a, &limits), Err(Refusal::Client));
        assert_eq!(open.admit(b, &limits), Ok(()));
        assert_eq!(open.admit(b, &limits), Ok(()));
        assert_eq!(open.admit(b, &limits), Err(Refusal::Client));
        assert_eq!(open.admit(c, &limits), Ok(()));
        assert_eq!(open.total(), 5);
        assert_eq!(open.admit(d, &limits), Err(Refusal::Full));
        open.close(a);
        assert_eq!(open.admit(d, &limits), Ok(()));
        assert_eq!(open.total(), 5);
    }

    #[test]
    fn closing_forgets_a_client_and_an_unknown_close_changes_nothing() {
        let limits = limits(10, 1);
        let a: IpAddr = "::1".parse().unwrap();
        let mut open = OpenConnections::default();
        open.admit(a, &limits).unwrap();
        open.close(a);
        assert!(open.per_client.is_empty());
        assert_eq!(open.total(), 0);
        open.close(a);
        assert_eq!(open.total(), 0);
        assert_eq!(open.admit(a, &limits), Ok(()));
    }

    #[test]
    fn a_zero_per_client_cap_refuses_without_keeping_the_client() {
        let limits = limits(10, 0);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let mut open = OpenConnections::default();
        assert_eq!(open.admit(a, &limits), Err(Refusal::Client));
        assert!(open.per_client.is_empty());
    }
}
