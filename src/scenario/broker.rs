//! `kafka down`: the broker process on this machine is frozen (SIGSTOP) for the fault's
//! duration and thawed (SIGCONT) after it, as `docker pause` or Pumba's `pause` do. Clients
//! see a broker that accepts nothing and answers nothing, until it is back with its data.
//! The broker is found by the port it listens on (`/proc/net/tcp`, then the process holding
//! that socket), so it must run here, as a user this process may signal. A frozen broker is
//! always thawed, also when the scenario fails or is interrupted.

use std::path::Path;

/// A broker process that a fault may freeze.
#[derive(Debug)]
pub struct Broker {
    pub pid: i32,
    pub addr: String,
    frozen: bool,
}

impl Broker {
    /// The process listening on the first local address of `brokers` (`host:port[,...]`).
    pub fn find(brokers: &str) -> Result<Broker, String> {
        for addr in brokers.split(',').map(str::trim) {
            let Some((host, port)) = addr.rsplit_once(':') else { continue };
            let local = matches!(host.trim_matches(['[', ']']), "127.0.0.1" | "localhost" | "::1" | "0.0.0.0");
            let Ok(port) = port.parse::<u16>() else { continue };
            if !local {
                continue;
            }
            if let Some(pid) = listener_pid(Path::new("/proc"), port) {
                return Ok(Broker { pid, addr: addr.to_string(), frozen: false });
            }
            return Err(format!(
                "`kafka down` freezes the broker's process, but no process of this user listens on port {port} ({addr})"
            ));
        }
        Err(format!(
            "`kafka down` freezes the broker's process, which must run on this machine; the brokers are {brokers}"
        ))
    }

    /// Stops the broker (SIGSTOP).
    pub fn freeze(&mut self) -> Result<(), String> {
        signal(self.pid, libc::SIGSTOP)?;
        self.frozen = true;
        tracing::warn!("fault: the Kafka broker at {} (pid {}) is down", self.addr, self.pid);
        Ok(())
    }

    /// Lets the broker go on (SIGCONT).
    pub fn thaw(&mut self) -> Result<(), String> {
        if self.frozen {
            signal(self.pid, libc::SIGCONT)?;
            self.frozen = false;
            tracing::warn!("fault over: the Kafka broker at {} (pid {}) is back", self.addr, self.pid);
        }
        Ok(())
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Err(e) = self.thaw() {
            tracing::error!("cannot thaw the Kafka broker (pid {}): {e}; run `kill -CONT {}`", self.pid, self.pid);
        }
    }
}

fn signal(pid: i32, sig: i32) -> Result<(), String> {
    // SAFETY: kill only sends a signal to the given process.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// The socket inodes listening on `port` in `/proc/net/tcp` and `tcp6`.
fn listening_inodes(proc: &Path, port: u16) -> Vec<u64> {
    let mut inodes = Vec::new();
    for table in ["net/tcp", "net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(proc.join(table)) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9)) else { continue };
            let listening = *state == "0A";
            let on_port = local.rsplit_once(':').and_then(|(_, p)| u16::from_str_radix(p, 16).ok()) == Some(port);
            if let (true, true, Ok(inode)) = (listening, on_port, inode.parse()) {
                inodes.push(inode);
            }
        }
    }
    inodes
}

/// The process holding a socket that listens on `port`.
fn listener_pid(proc: &Path, port: u16) -> Option<i32> {
    let inodes = listening_inodes(proc, port);
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir(proc).ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                if wanted.iter().any(|w| target.as_os_str() == w.as_str()) {
                    return Some(pid);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_process_listening_on_a_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(listener_pid(Path::new("/proc"), port), Some(std::process::id() as i32));
        let b = Broker::find(&format!("10.0.0.9:9092,127.0.0.1:{port}")).unwrap();
        assert_eq!(b.pid, std::process::id() as i32);
        drop(listener);
        let err = Broker::find(&format!("127.0.0.1:{port}")).unwrap_err();
        assert!(err.contains(&format!("port {port}")), "{err}");
        assert!(Broker::find("kafka.example.com:9092").unwrap_err().contains("this machine"));
    }
}
