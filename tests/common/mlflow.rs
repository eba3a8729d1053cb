//! A real MLflow tracking server for tests: `mlflow server` from the test virtualenv, on a free
//! 127.0.0.1 port, with a sqlite backend and an artifact root in a fresh folder, proxying
//! artifacts (`--serve-artifacts`). Stopped with its workers when dropped.

use super::kafka::free_port;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The test virtualenv's `bin` folder (`make deps` builds it from tests/python/requirements.txt).
pub fn python_bin() -> PathBuf {
    let env = std::env::var_os("HF_PYTHON_ENV").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/housing-flow/venv")
    });
    let bin = env.join("bin");
    assert!(
        bin.join("python").exists(),
        "{} has no Python virtualenv with the test clients; run `make deps` (it installs \
         tests/python/requirements.txt there)",
        env.display()
    );
    bin
}

/// Whether MLflow tests are switched off (`HF_NO_MLFLOW=1`); says so loudly when they are.
pub fn skipped(test: &str) -> bool {
    let off = std::env::var("HF_NO_MLFLOW").is_ok_and(|v| v == "1");
    if off {
        eprintln!("\n*** SKIPPED {test}: HF_NO_MLFLOW=1 switches off the tests against a real MLflow server ***\n");
    }
    off
}

/// A running tracking server.
pub struct Mlflow {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    dir: PathBuf,
}

impl Mlflow {
    /// Starts a server whose database and artifacts live under `dir`, and waits until it answers.
    pub fn start(dir: &Path) -> Mlflow {
        let port = free_port();
        std::fs::create_dir_all(dir.join("artifacts")).unwrap();
        let log = std::fs::File::create(dir.join("mlflow.log")).unwrap();
        let child = Command::new(python_bin().join("mlflow"))
            .current_dir(dir)
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string(), "--workers", "1"])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--artifacts-destination")
            .arg(dir.join("artifacts"))
            .arg("--serve-artifacts")
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group, so that stopping it stops its uvicorn workers too.
            .process_group(0)
            .spawn()
            .expect("`mlflow server` starts");
        let server = Mlflow { url: format!("http://127.0.0.1:{port}"), child, dir: dir.to_path_buf() };
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if std::net::TcpStream::connect(&addr).is_ok() && super::request(&addr, "GET", "/health", None, "").0 == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "mlflow server did not answer on {addr} within 90 s:\n{}", server.log());
            std::thread::sleep(Duration::from_millis(200));
        }
        server
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("mlflow.log")).unwrap_or_default()
    }

    /// Runs a Python script with the test virtualenv and `MLFLOW_TRACKING_URI` pointing here;
    /// returns its stdout, or panics with everything it printed.
    pub fn python(&self, script: &Path, args: &[&str]) -> String {
        let out = Command::new(python_bin().join("python"))
            .arg(script)
            .args(args)
            .env("MLFLOW_TRACKING_URI", &self.url)
            .output()
            .expect("python starts");
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{} {args:?} failed ({}):\n{stdout}\n{stderr}", script.display(), out.status);
        stdout.into_owned()
    }

    /// Stops the server and its workers.
    pub fn stop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signals the process group this harness started; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Mlflow {
    fn drop(&mut self) {
        self.stop();
    }
}
