//! Slow and greedy clients against the real binary over real sockets: a silent partial request
//! and an idle keep-alive connection are closed at the header deadline; 500 trickling
//! connections from one address take at most their per-client share, the rest are refused
//! with 503, and a normal client from another address keeps its latency.

mod common;

use common::{quick_main, request, temp_dir, Running, TempDir};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const SEED_BODY: &str = r#"{"Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
  "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}"#;

/// `main.hf` (quick to train) serving with these `serve http` arguments on a free port, and
/// its folder (removed when dropped).
fn serving(name: &str, serve_args: &str) -> (Running, String, TempDir) {
    let dir = temp_dir(name);
    let source = quick_main().replace("serve http(port: 8000)", &format!("serve http(port: 0, {serve_args})"));
    assert!(source.contains(serve_args), "main.hf no longer declares `serve http(port: 8000)`");
    std::fs::write(dir.join("main.hf"), source).unwrap();
    let mut run = Running::start(&dir, &["run", "main.hf"]);
    let addr = run.http_addr();
    (run, addr, dir)
}

/// How long until the server closes `s` (reads return 0), with what it sent before closing.
fn time_to_close(s: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (start.elapsed(), got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("the server kept the connection open for {:?} ({e})", start.elapsed()),
        }
    }
}

/// Whether the server has closed `s`: a read sees end of file or a reset within 20 ms.
fn is_closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!("a request never completed got an answer: {}", String::from_utf8_lossy(&buf[..n])),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// A connection to `addr` from the loopback address `from` (any 127.x.y.z is this host).
fn connect_from(from: &str, addr: &str) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&format!("{from}:0").parse::<SocketAddr>().unwrap().into())?;
    socket.connect(&addr.parse::<SocketAddr>().unwrap().into())?;
    Ok(socket.into())
}

/// One `/predict` on a kept-alive connection: the time to the full answer.
fn timed_predict(s: &mut TcpStream, addr: &str) -> Duration {
    let start = Instant::now();
    write!(
        s,
        "POST /predict HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{SEED_BODY}",
        SEED_BODY.len()
    )
    .unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the server closed a normal client's connection");
        response.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&response);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            assert!(head.starts_with("HTTP/1.1 200"), "{text}");
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .expect("content-length");
            if body.len() >= length {
                return start.elapsed();
            }
        }
    }
}

/// The 99th percentile of `n` sequential `/predict` requests on one connection.
fn predict_p99(addr: &str, n: usize) -> Duration {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut times: Vec<Duration> = (0..n).map(|_| timed_predict(&mut s, addr)).collect();
    times.sort();
    times[(n * 99 / 100).min(n - 1)]
}

#[test]
fn a_silent_partial_request_and_an_idle_connection_are_closed_at_the_header_deadline() {
    let (_run, addr, _dir) = serving("slowloris", "header_timeout: 1s");

    // A request line and one header, then silence.
    let mut silent = TcpStream::connect(&addr).unwrap();
    silent.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (took, sent) = time_to_close(&mut silent, Duration::from_secs(10));
    assert!(sent.is_empty(), "a request never completed got an answer: {}", String::from_utf8_lossy(&sent));
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "closed after {took:?}");

    // Headers trickled one line every 300 ms never complete within the deadline.
    let mut trickle = TcpStream::connect(&addr).unwrap();
    trickle.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    let start = Instant::now();
    let took = loop {
        assert!(start.elapsed() < Duration::from_secs(10), "a trickling client was kept for 10 s");
        std::thread::sleep(Duration::from_millis(300));
        let line = format!("X-Slow-{}: 1\r\n", start.elapsed().as_millis());
        if trickle.write_all(line.as_bytes()).is_err() || is_closed(&mut trickle) {
            break start.elapsed();
        }
    };
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "trickling client closed after {took:?}"
    );

    // A kept-alive connection: answered, then closed after the same deadline of idleness.
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (took, sent) = time_to_close(&mut idle, Duration::from_secs(10));
    assert!(sent.is_empty());
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "idle connection closed after {took:?}"
    );

    // The server still answers.
    assert_eq!(request(&addr, "GET", "/healthz", None, "").0, 200);
}

#[test]
fn trickling_connections_take_only_their_share_and_a_normal_client_keeps_its_latency() {
    let (_run, addr, _dir) =
        serving("trickle", "header_timeout: 30s, max_connections: 1000, max_connections_per_client: 200");

    let baseline = predict_p99(&addr, 2000);

    // 500 connections from 127.0.0.2, each sending a header line every 2 s, never finishing.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..500 {
        let mut s = connect_from("127.0.0.2", &addr).expect("connect from 127.0.0.2");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
        held.push(s);
    }
    // Refused connections are answered at once; admitted ones stay silent.
    std::thread::sleep(Duration::from_millis(500));
    let mut open = Vec::new();
    for mut s in held {
        s.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(n) if n > 0 => {
                let answer = String::from_utf8_lossy(&buf[..n]);
                assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
                assert!(
                    answer.contains("max_connections_per_client") || answer.contains("limit per client"),
                    "{answer}"
                );
                refused += 1;
            }
            _ => {
                s.set_nonblocking(false).unwrap();
                open.push(s)
            }
        }
    }
    assert_eq!(open.len(), 200, "admitted from one address");
    assert_eq!(refused, 300);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trickler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for s in &mut open {
                    let _ = s.write_all(format!("X-Slow-{i}: 1\r\n").as_bytes());
                }
                i += 1;
                std::thread::sleep(Duration::from_secs(2));
            }
            open.len()
        })
    };

    // A normal client from 127.0.0.1 is unaffected by the 127.0.0.2 cap.
    let during = predict_p99(&addr, 2000);
    let health_start = Instant::now();
    assert_eq!(request(&addr, "GET", "/healthz", None, "").0, 200);
    let health = health_start.elapsed();
    let (_, metrics) = request(&addr, "GET", "/metrics", None, "");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    trickler.join().unwrap();

    eprintln!("/predict p99 on one connection: {baseline:?} alone, {during:?} beside 200 trickling connections; /healthz {health:?}");
    assert!(
        during <= baseline * 5 + Duration::from_millis(20),
        "p99 rose from {baseline:?} to {during:?} beside slow clients"
    );
    assert!(health < Duration::from_millis(500), "/healthz took {health:?}");
    let refused_metric = metrics
        .lines()
        .find(|l| l.starts_with("housing_flow_http_connections_refused_total{limit=\"max_connections_per_client\"}"))
        .unwrap_or_else(|| panic!("no refusal counter in:\n{metrics}"));
    assert!(refused_metric.ends_with(" 300"), "{refused_metric}");
    let open_metric = metrics.lines().find(|l| l.starts_with("housing_flow_http_connections_open ")).unwrap();
    let open_now: u64 = open_metric.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(open_now >= 201, "{open_metric}");
}

#[test]
fn the_whole_server_cap_refuses_with_503_and_frees_slots_when_connections_close() {
    let (_run, addr, _dir) = serving("cap", "max_connections: 20, max_connections_per_client: 20");
    let mut held: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    // Let the server accept all twenty before the next one.
    std::thread::sleep(Duration::from_millis(300));
    let (status, body) = request(&addr, "GET", "/healthz", None, "");
    assert_eq!(status, 503, "{body}");
    let error: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["kind"], "overloaded");
    assert!(error["error"].as_str().unwrap().contains("20 connections"), "{error}");
    held.truncate(10);
    common::eventually("a slot is free again", Duration::from_secs(5), || {
        (request(&addr, "GET", "/healthz", None, "").0 == 200).then_some(())
    });
}
