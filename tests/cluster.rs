//! A cluster process whose peers never arrive still answers to SIGTERM and Ctrl-C, and gives
//! up after `--connect-timeout`. (The README's two-process example, run as written, is in
//! `tests/readme.rs`.)

mod common;

use common::{quick_main, temp_dir, Running, TempDir};
use std::time::{Duration, Instant};

/// Process 0 of two, alone: its own address takes any free port, and process 1 never comes.
fn lonely_process(name: &str, extra: &[&str]) -> (TempDir, Running) {
    let dir = temp_dir(name);
    std::fs::write(dir.join("main.hf"), quick_main()).unwrap();
    std::fs::write(dir.join("hosts"), "127.0.0.1:0\n127.0.0.1:1\n").unwrap();
    let mut args = vec!["run", "main.hf", "--processes", "2", "--process", "0", "--hostfile", "hosts", "--port", "0"];
    args.extend_from_slice(extra);
    let mut run = Running::start(&dir, &args);
    // HTTP is up once the model is trained; the wait for the peer comes right after.
    run.http_addr();
    (dir, run)
}

#[test]
fn sigterm_and_ctrl_c_stop_a_process_waiting_for_its_peers() {
    for signal in ["TERM", "INT"] {
        let (dir, mut run) = lonely_process(&format!("cluster-{signal}"), &[]);
        std::thread::sleep(Duration::from_millis(300));
        let sent = Instant::now();
        run.signal(signal);
        let status = run.wait(Duration::from_secs(10));
        assert!(sent.elapsed() < Duration::from_secs(5), "SIG{signal} took {:?}", sent.elapsed());
        assert_eq!(status.code(), Some(1), "{}", run.stderr());
        assert!(
            run.stderr().contains("stopped while waiting for the other processes of the cluster"),
            "{}",
            run.stderr()
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_process_gives_up_on_its_peers_after_the_connect_timeout() {
    let (dir, mut run) = lonely_process("cluster-timeout", &["--connect-timeout", "1s"]);
    let status = run.wait(Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "{}", run.stderr());
    let stderr = run.stderr();
    assert!(stderr.contains("did not all connect within 1 s"), "{stderr}");
    assert!(stderr.contains("127.0.0.1:1"), "the missing peer is named: {stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
