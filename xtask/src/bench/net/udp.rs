//! UDP echo throughput against requested rate, sDDF's method (its
//! `echo_server` benchmark): the host sends UDP datagrams of one size at
//! a requested rate R to the guest's echo port (through QEMU's forward of
//! a port of 127.0.0.1), for a fixed window, and counts what comes back:
//! the echoed throughput and the loss at R. R is swept upwards, for each
//! size, in one boot. The peers: our `udpecho` over configuration 1 (the
//! stack on the kernel core) and over configuration 2 (its own stack over
//! raw frames), and `bench/linux/udpecho.c` (one thread, one socket, as
//! ours).
//!
//! A datagram carries its step's number and its own sequence number and a
//! pattern after them; an echo counts if it is byte for byte one of the
//! step's datagrams and arrives before the step's window and drain end.
//! Echoes of an earlier step arriving late are counted apart (`late`); a
//! datagram that is no echo of anything sent fails the run. The sender
//! paces by the host's clock: it sleeps until each datagram's time, and
//! when it falls behind (a loaded host) sends at once to catch up, but
//! never more than [`MAX_LAG`] behind (it then drops the schedule), so
//! the rate offered (`offered_mbps`, measured) can fall short of the rate
//! requested: both are recorded.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requested rates, Mb/s of UDP payload.
pub const RATES_MBPS: [u32; 7] = [1, 5, 10, 20, 50, 100, 200];
/// Payload sizes: the largest datagram without IP fragments, and a small one.
pub const SIZES: [usize; 2] = [1472, 100];
/// How long each rate is sent.
pub const WINDOW: Duration = Duration::from_secs(2);
/// After the window, echoes still counted.
pub const DRAIN: Duration = Duration::from_millis(500);
/// The sender never falls further behind its schedule than this.
const MAX_LAG: Duration = Duration::from_millis(20);
/// Header of a datagram: step number (4 bytes), sequence number (8).
const HEAD: usize = 12;

/// One rate of one size.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Step {
    pub size: usize,
    pub requested_mbps: f64,
    /// What the host managed to send, Mb/s of payload over the window.
    pub offered_mbps: f64,
    /// Echoed payload, Mb/s over the window.
    pub achieved_mbps: f64,
    pub sent: u64,
    pub echoed: u64,
    /// 1 - echoed / sent.
    pub loss: f64,
    /// Echoes of earlier steps that arrived during this one.
    pub late: u64,
}

/// Byte `j` of datagram `seq`'s payload (after the header).
fn fill(seq: u64, j: usize) -> u8 {
    (seq.wrapping_mul(7).wrapping_add(j as u64 * 13) % 251) as u8
}

fn datagram(step: u32, seq: u64, size: usize) -> Vec<u8> {
    let mut d = vec![0u8; size.max(HEAD)];
    d[..4].copy_from_slice(&step.to_le_bytes());
    d[4..HEAD].copy_from_slice(&seq.to_le_bytes());
    for (j, b) in d[HEAD..].iter_mut().enumerate() {
        *b = fill(seq, j);
    }
    d
}

/// What an arriving datagram is: `Some((step, seq))` if it is byte for
/// byte a datagram of ours of `size` bytes, `None` if not.
fn parse(d: &[u8]) -> Option<(u32, u64)> {
    if d.len() < HEAD {
        return None;
    }
    let step = u32::from_le_bytes(d[..4].try_into().ok()?);
    let seq = u64::from_le_bytes(d[4..HEAD].try_into().ok()?);
    let ok = d[HEAD..]
        .iter()
        .enumerate()
        .all(|(j, &b)| b == fill(seq, j));
    ok.then_some((step, seq))
}

/// The host's socket: unconnected (so no ICMP error from a port not yet
/// open ends a send), with a large receive buffer so that drops are the
/// guest's and slirp's, not this socket's.
fn socket() -> Result<UdpSocket, String> {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("udp: bind: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let size: libc::c_int = 8 << 20;
        for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
            // Safety: a valid socket descriptor, a pointer to an int and
            // its size; setsockopt reads only those bytes.
            let r = unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    opt,
                    (&size as *const libc::c_int).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if r == 0 {
                break;
            }
        }
    }
    s.set_read_timeout(Some(Duration::from_millis(50)))
        .map_err(|e| format!("udp: {e}"))?;
    Ok(s)
}

/// Sends `msg` until `expect` comes back from `to` (at most `tries` of 1
/// s), skipping echoes of the sweep's datagrams.
fn ask(s: &UdpSocket, to: SocketAddr, msg: &[u8], expect: &[u8], tries: u32) -> Result<(), String> {
    let mut buf = vec![0u8; 65536];
    for _ in 0..tries {
        s.send_to(msg, to).map_err(|e| format!("udp: send: {e}"))?;
        let until = Instant::now() + Duration::from_secs(1);
        while Instant::now() < until {
            match s.recv_from(&mut buf) {
                Ok((n, from)) if from == to && &buf[..n] == expect => return Ok(()),
                Ok((n, _)) if parse(&buf[..n]).is_some() || &buf[..n] == msg => {}
                Ok((n, _)) => {
                    return Err(format!(
                        "udp: a {n}-byte datagram that is no echo (first bytes {:02x?})",
                        &buf[..n.min(8)]
                    ))
                }
                Err(_) => {}
            }
        }
    }
    Err(format!(
        "udp: no answer {:?} to {:?} in {tries} tries of 1 s",
        String::from_utf8_lossy(expect),
        String::from_utf8_lossy(msg)
    ))
}

/// Sends at `rate_mbps` for `window` and counts the echoes until `drain`
/// after it.
fn step(
    s: &UdpSocket,
    to: SocketAddr,
    id: u32,
    size: usize,
    rate_mbps: f64,
    window: Duration,
    drain: Duration,
) -> Result<Step, String> {
    let interval = Duration::from_secs_f64(size as f64 * 8.0 / (rate_mbps * 1e6));
    let current = Arc::new(AtomicU32::new(id));
    let done = Arc::new(AtomicBool::new(false));
    let rx = s.try_clone().map_err(|e| format!("udp: {e}"))?;
    let (cur, fin) = (current.clone(), done.clone());
    let receiver = std::thread::spawn(move || -> Result<(u64, u64, u64), String> {
        let (mut echoed, mut bytes, mut late) = (0u64, 0u64, 0u64);
        let mut buf = vec![0u8; 65536];
        while !fin.load(Ordering::Acquire) {
            match rx.recv_from(&mut buf) {
                Ok((n, from)) if from == to => match parse(&buf[..n]) {
                    Some((st, _)) if st == cur.load(Ordering::Relaxed) && n == size => {
                        echoed += 1;
                        bytes += n as u64;
                    }
                    Some((st, _)) if st < cur.load(Ordering::Relaxed) => late += 1,
                    _ => {
                        return Err(format!(
                            "udp: a {n}-byte datagram that is no echo (first bytes {:02x?})",
                            &buf[..n.min(8)]
                        ))
                    }
                },
                Ok(_) => {}
                Err(_) => {}
            }
        }
        Ok((echoed, bytes, late))
    });
    let start = Instant::now();
    let mut next = start;
    let mut sent = 0u64;
    let mut error = None;
    loop {
        let now = Instant::now();
        if now - start >= window {
            break;
        }
        if next > now {
            let wait = next - now;
            if wait > Duration::from_micros(200) {
                std::thread::sleep(wait);
            } else {
                std::thread::yield_now();
            }
            continue;
        }
        if now - next > MAX_LAG {
            next = now;
        }
        // ENOBUFS and the like: a datagram not sent is not counted as sent.
        match s.send_to(&datagram(id, sent, size), to) {
            Ok(_) => sent += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                error = Some(format!("udp: send: {e}"));
                break;
            }
        }
        next += interval;
    }
    let sending = start.elapsed();
    std::thread::sleep(drain);
    done.store(true, Ordering::Release);
    let (echoed, bytes, late) = receiver
        .join()
        .unwrap_or_else(|_| Err("udp: the receiver panicked".into()))?;
    if let Some(e) = error {
        return Err(e);
    }
    let mbps = |b: u64, t: Duration| b as f64 * 8.0 / t.as_secs_f64() / 1e6;
    Ok(Step {
        size,
        requested_mbps: rate_mbps,
        offered_mbps: mbps(sent * size as u64, sending),
        achieved_mbps: mbps(bytes, window),
        sent,
        echoed,
        loss: if sent == 0 {
            0.0
        } else {
            1.0 - echoed as f64 / sent as f64
        },
        late,
    })
}

/// The sweep against the echo at 127.0.0.1:`port`: a probe until the echo
/// answers, every size at every rate (`window` each, then `drain`), then
/// `quit` (answered `bye`: the echo ends). `progress` is told each step.
pub fn sweep(
    port: u16,
    sizes: &[usize],
    rates: &[u32],
    window: Duration,
    drain: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Step>, String> {
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let s = socket()?;
    ask(&s, to, b"probe", b"probe", 30)?;
    let mut steps = Vec::new();
    let mut id = 0;
    for &size in sizes {
        for &rate in rates {
            id += 1;
            let st = step(&s, to, id, size, f64::from(rate), window, drain)?;
            progress(&format!(
                "udp {size} B at {rate} Mb/s: sent {:.1} Mb/s, echoed {:.1} Mb/s, loss {:.1}%",
                st.offered_mbps,
                st.achieved_mbps,
                st.loss * 100.0
            ));
            steps.push(st);
        }
    }
    ask(&s, to, b"quit", b"bye", 5)?;
    Ok(steps)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn datagrams_are_recognised_byte_for_byte() {
        let d = datagram(3, 77, 100);
        assert_eq!(d.len(), 100);
        assert_eq!(parse(&d), Some((3, 77)));
        let mut bad = d.clone();
        bad[50] ^= 1;
        assert_eq!(parse(&bad), None);
        assert_eq!(parse(&d[..11]), None);
        assert_ne!(datagram(3, 78, 100)[HEAD..], d[HEAD..]);
    }

    /// An echo on this machine standing in for the guest, dropping every
    /// `drop`-th datagram (0: none); it ends on `quit`, answering `bye`.
    pub(crate) fn echo(drop: u64) -> (u16, std::thread::JoinHandle<u64>) {
        let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = s.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            let (mut buf, mut k, mut echoed) = (vec![0u8; 65536], 0u64, 0u64);
            loop {
                let (n, from) = s.recv_from(&mut buf).unwrap();
                if &buf[..n] == b"quit" {
                    s.send_to(b"bye", from).unwrap();
                    return echoed;
                }
                k += 1;
                if drop == 0 || k % drop != 0 {
                    s.send_to(&buf[..n], from).unwrap();
                    echoed += 1;
                }
            }
        });
        (port, t)
    }

    /// The sweep's smoke test: a short sweep against a faithful echo is
    /// well formed and echoed (no rate is judged); one that drops every
    /// 4th datagram shows loss.
    #[test]
    fn sweep_smoke() {
        let w = Duration::from_millis(200);
        let d = Duration::from_millis(100);
        let (port, t) = echo(0);
        let steps = sweep(port, &[64, 1472], &[1, 5], w, d, &mut |_| {}).unwrap();
        assert_eq!(steps.len(), 4);
        for s in &steps {
            assert!(s.sent > 0 && s.echoed > 0 && s.echoed <= s.sent, "{s:?}");
            assert!(s.achieved_mbps > 0.0 && s.offered_mbps > 0.0, "{s:?}");
            assert!((0.0..=1.0).contains(&s.loss), "{s:?}");
        }
        // The probe is echoed too.
        assert!(t.join().unwrap() >= steps.iter().map(|s| s.echoed).sum::<u64>());
        let (port, t) = echo(4);
        let steps = sweep(port, &[1472], &[10], w, d, &mut |_| {}).unwrap();
        assert!(steps[0].loss >= 0.2, "{:?}", steps[0]);
        t.join().unwrap();
    }
}
