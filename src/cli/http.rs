//! The HTTP server a running pipeline serves (when its file declares `serve http(...)`).

use housing_flow::engine::session::Prepared;
use housing_flow::program::{Serve, Stream};
use housing_flow::serve::admission::Admission;
use housing_flow::serve::listener::{self, ConnectionThreads, Limits};
use housing_flow::serve::{app_with_timeout, AppState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Binds `host:port` and serves in a background thread until `stop` is set, refusing what
/// `admission` says (a scenario's shed load and injected errors).
/// Returns the bound address, or why it could not bind.
pub fn start(
    p: &Prepared,
    serve: &Serve,
    port: Option<u16>,
    stop: Arc<AtomicBool>,
    admission: Arc<Admission>,
) -> Result<std::net::SocketAddr, String> {
    let store = p.dataflow.operators.iter().find_map(|o| match &o.kind {
        housing_flow::plan::OperatorKind::Sink { sink, stream: Stream::Predictions, .. } => p.sink_store(sink),
        _ => None,
    });
    let state = Arc::new(AppState {
        schema: p.schema.clone(),
        handle: p.handle.clone(),
        store,
        registry: p.registry.clone(),
        model_name: p.model.model.name.clone(),
        next_id: AtomicU64::new(1 << 62),
        // The run's `Stats` is created inside `engine::session::execute`, after the server starts.
        stats: Some(p.stats.clone()),
        http: Default::default(),
        drift: p.drift.as_ref().map(|d| d.board.clone()),
        workers: Some(p.workers),
        slos: Some(p.slo_board.clone()),
        admission,
    });
    let addr = format!("{}:{}", serve.host, port.unwrap_or(serve.port));
    let listener = std::net::TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let router =
        app_with_timeout(state.clone(), serve.body_limit as usize, Duration::from_millis(serve.timeout_ms.max(1)));
    let limits = Limits {
        header_timeout: Duration::from_millis(serve.header_timeout_ms.max(1)),
        max_connections: serve.max_connections as usize,
        max_connections_per_client: serve.max_connections_per_client as usize,
    };
    // A thread per CPU serves connections, each on the CPU its packets arrive on; the `http`
    // thread accepts them (see `listener`).
    let threads = ConnectionThreads::per_cpu().map_err(|e| format!("cannot start the HTTP threads: {e}"))?;
    std::thread::Builder::new()
        .name("http".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => return tracing::error!("cannot start the HTTP runtime: {e}"),
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return tracing::error!("cannot serve HTTP: {e}"),
                };
                let shutdown = async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                };
                listener::serve(listener, router, limits, state, &threads, shutdown).await;
            });
        })
        .map_err(|e| e.to_string())?;
    Ok(local)
}
