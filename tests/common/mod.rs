//! What end-to-end tests share: the real binary as a child process that is killed when the
//! test ends (even by a failed assertion), its stderr collected as it comes, readiness
//! waits with deadlines instead of sleeps, and fresh temporary folders.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_housing-flow")
}

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty folder for one test, removed when dropped; kept (and its path printed) when
/// the test failed, to look at what the binary left there.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for a look", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh, empty folder for one test (see [`TempDir`]). Folders that earlier test processes
/// kept are removed first, once their process has ended.
pub fn temp_dir(name: &str) -> TempDir {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(sweep_ended);
    let d = std::env::temp_dir().join(format!("hf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

/// Removes the `hf-NAME-PID` folders of test processes that have ended.
fn sweep_ended() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let pid = name.strip_prefix("hf-").and_then(|rest| rest.rsplit_once('-')).map(|(_, pid)| pid);
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `pipelines/main.hf` made quick to train, for tests that only need some model.
pub fn quick_main() -> String {
    std::fs::read_to_string(root().join("pipelines/main.hf"))
        .unwrap()
        .replace("num_iterations: 300", "num_iterations: 50")
        .replace("\"../models\"", "\"models\"")
        .replace("\"../out/", "\"out/")
}

/// A folder holding copies of `pipelines/` and `scenarios/` (models and reports land in it);
/// `quick` trains the model with fewer iterations.
pub fn project(name: &str, quick: bool) -> TempDir {
    let dir = temp_dir(name);
    for sub in ["pipelines", "scenarios"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        for entry in std::fs::read_dir(root().join(sub)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).unwrap();
            }
        }
    }
    if !quick {
        return dir;
    }
    let main = dir.join("pipelines/main.hf");
    let text = std::fs::read_to_string(&main).unwrap().replace("num_iterations: 300", "num_iterations: 50");
    std::fs::write(main, text).unwrap();
    dir
}

/// Headless Chromium: the page's DOM after load, a screenshot, and what it logged.
pub fn chromium(page: &Path, screenshot: &Path) -> (String, String) {
    let url = format!("file://{}", page.display());
    let common =
        ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"];
    let dom = Command::new("chromium")
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs (make deps installs it)");
    assert!(dom.status.success(), "chromium --dump-dom failed: {}", String::from_utf8_lossy(&dom.stderr));
    let shot = Command::new("chromium")
        .args(common)
        .arg("--window-size=900,2600")
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot.status.success(), "chromium --screenshot failed: {}", String::from_utf8_lossy(&shot.stderr));
    let log = format!("{}{}", String::from_utf8_lossy(&dom.stderr), String::from_utf8_lossy(&shot.stderr));
    (String::from_utf8_lossy(&dom.stdout).into_owned(), log)
}

/// A running `housing-flow`: killed on drop, its stderr (and stdout) kept as they arrive.
pub struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
}

impl Running {
    /// Starts the binary in `dir` with `args`.
    pub fn start(dir: &Path, args: &[&str]) -> Running {
        let mut child = Command::new(bin())
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = collect(child.stderr.take().unwrap());
        let stdout = collect(child.stdout.take().unwrap());
        Running { child, stderr, stdout }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until stderr has a line containing `needle`; returns that line. Panics with
    /// everything printed so far after `timeout` or when the process ends first.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stderr().lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the reader threads a moment to take the last output.
                std::thread::sleep(Duration::from_millis(100));
                if let Some(line) = self.stderr().lines().find(|l| l.contains(needle)) {
                    return line.to_string();
                }
                panic!("the process ended ({status}) before printing `{needle}`:\n{}", self.stderr());
            }
            assert!(Instant::now() < deadline, "no `{needle}` within {timeout:?}:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address from the `serving http://ADDR` line.
    pub fn http_addr(&mut self) -> String {
        let line = self.wait_for_line("serving http://", Duration::from_secs(120));
        line.split("serving http://").nth(1).unwrap().trim().to_string()
    }

    /// Sends a signal (SIGINT, SIGTERM) to the process.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill").args([&format!("-{signal}"), &self.pid().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -{signal} failed");
    }

    /// Waits for the process to end; panics after `timeout` (the process is then killed).
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {timeout:?}:\n{}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let mut t = sink.lock().unwrap();
            t.push_str(&line);
            t.push('\n');
        }
    });
    text
}

/// Runs the binary to completion in `dir`, with a deadline: (exit code, stdout, stderr).
pub fn run_to_end(dir: &Path, args: &[&str], timeout: Duration) -> (i32, String, String) {
    let mut r = Running::start(dir, args);
    let status = r.wait(timeout);
    (status.code().unwrap_or(-1), r.stdout(), r.stderr())
}

/// One HTTP/1.1 request over a fresh connection: (status, body).
pub fn request(addr: &str, method: &str, path: &str, content_type: Option<&str>, body: &str) -> (u16, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let ct = content_type.map_or(String::new(), |c| format!("Content-Type: {c}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{ct}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    (status, dechunk(&body))
}

/// The body of a chunked response, or the body as it is.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, tail)) = rest.split_once("\r\n") else { return body.to_string() };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { return body.to_string() };
        if n == 0 {
            return out;
        }
        if tail.len() < n {
            return body.to_string();
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
}

/// Polls `f` until it returns `Some`, or panics with `what` after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
pub mod kafka;
pub mod mlflow;
