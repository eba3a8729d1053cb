//! Which CPU serves a connection: the CPUs this process may run on, pinning a thread to one,
//! and the CPU a connection's packets arrive on (`SO_INCOMING_CPU`, socket(7)).
//!
//! A connection served by the thread on the CPU its packets arrive on is answered without
//! waking another CPU: for a client on the same machine that is the client's CPU, for a remote
//! one the CPU of the network queue it hashes to. Off Linux nothing is pinned and no CPU is
//! known, so connections go to the least loaded thread.

use std::os::fd::AsRawFd;

/// The CPUs this process may run on, in order (all of `0..available_parallelism` when they
/// cannot be read).
pub fn allowed_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `set` is a plain bit set that the call fills; its size is passed with it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let read = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
        if read == 0 {
            let cpus: Vec<usize> =
                (0..libc::CPU_SETSIZE as usize).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) }).collect();
            if !cpus.is_empty() {
                return cpus;
            }
        }
    }
    (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
}

/// Pins the calling thread to `cpu`.
pub fn pin_to(cpu: usize) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(std::io::Error::other(format!("CPU {cpu} is beyond the CPU set")));
        }
        // SAFETY: as in `allowed_cpus`; `cpu` is within the set (checked above).
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        unsafe { libc::CPU_SET(cpu, &mut set) };
        if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cpu;
        Err(std::io::Error::other("threads are pinned only on Linux"))
    }
}

/// The CPU the calling thread runs on now.
pub fn current_cpu() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// The CPU the packets of `socket` arrive on, when the system says.
pub fn incoming_cpu(socket: &impl AsRawFd) -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut cpu: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the option's value is one `c_int`, written into `cpu`; `len` says its size.
        let got = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_INCOMING_CPU,
                (&mut cpu as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if got == 0 {
            return usize::try_from(cpu).ok();
        }
        None
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = socket;
        None
    }
}

/// The thread for a new connection, given each thread's CPU (if pinned) and open connections:
/// the one on the connection's CPU, unless that one already has at least twice the connections
/// of the least loaded and more than [`CROWDED`] (many connections of one client on one CPU
/// would otherwise leave the other CPUs idle); else the least loaded.
pub fn choose(incoming: Option<usize>, threads: &[(Option<usize>, usize)]) -> usize {
    let least = (0..threads.len()).min_by_key(|&i| threads[i].1).expect("at least one thread");
    let local = incoming.and_then(|cpu| threads.iter().position(|&(pinned, _)| pinned == Some(cpu)));
    match local {
        Some(i) if threads[i].1 <= CROWDED || threads[i].1 < 2 * threads[least].1 => i,
        _ => least,
    }
}

/// Connections a thread takes from its own CPU before [`choose`] weighs it against the others
/// (as many as one thread of a load generator commonly holds, so that they all stay local).
pub const CROWDED: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_goes_to_its_cpus_thread_until_that_one_is_crowded() {
        let threads = [(Some(0), 0), (Some(1), 0)];
        assert_eq!(choose(Some(1), &threads), 1);
        assert_eq!(choose(Some(0), &threads), 0);
        // A CPU without a thread, or none known: the least loaded.
        assert_eq!(choose(Some(7), &[(Some(0), 3), (Some(1), 2)]), 1);
        assert_eq!(choose(None, &[(Some(0), 3), (Some(1), 2)]), 1);
        // Up to CROWDED on its own CPU whatever the others hold, then at most twice theirs.
        assert_eq!(choose(Some(0), &[(Some(0), CROWDED), (Some(1), 0)]), 0);
        assert_eq!(choose(Some(0), &[(Some(0), CROWDED + 1), (Some(1), 0)]), 1);
        assert_eq!(choose(Some(0), &[(Some(0), 19), (Some(1), 10)]), 0);
        assert_eq!(choose(Some(0), &[(Some(0), 20), (Some(1), 10)]), 1);
        // Unpinned threads: the least loaded.
        assert_eq!(choose(Some(0), &[(None, 1), (None, 0)]), 1);
    }

    #[test]
    fn a_loopback_connection_arrives_on_an_allowed_cpu_and_a_pinned_thread_stays_on_its_cpu() {
        let allowed = allowed_cpus();
        assert!(!allowed.is_empty());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let cpu = incoming_cpu(&server).expect("Linux says which CPU a connection arrives on");
        assert!(allowed.contains(&cpu), "CPU {cpu} is not one of {allowed:?}");
        for &cpu in &allowed {
            let on = std::thread::spawn(move || {
                pin_to(cpu).unwrap();
                (0..100).map(|_| current_cpu()).collect::<Vec<_>>()
            })
            .join()
            .unwrap();
            assert!(on.iter().all(|&c| c == Some(cpu)), "pinned to {cpu}, ran on {on:?}");
        }
        assert!(pin_to(libc::CPU_SETSIZE as usize).is_err());
    }
}
