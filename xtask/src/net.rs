//! The network a run gets: images that grant `device:virtio-net` boot with
//! a virtio-net-device on QEMU's user networking (not `restrict=on`:
//! libslirp then drops the guest's UDP replies to a forwarded port; the
//! guest's tasks only ever answer what reaches them), with the
//! echo ports of the guest (UDP and TCP port [`GUEST_ECHO_PORT`] on
//! 10.0.2.15) forwarded from ports on 127.0.0.1 of the host that are free
//! when the run starts. A test case's network step ([`check_echo`]) then
//! sends bounded traffic to those ports and checks the echoes byte for
//! byte; every wait in it is bounded, and nothing is ever sent to an
//! address other than 127.0.0.1.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use qemu_tests::NetTraffic;

use crate::image::Image;

/// The guest's echo port, UDP and TCP (servers/apps/udpecho, tcpecho).
pub const GUEST_ECHO_PORT: u16 = 7;
/// Tries per datagram (the first may meet an ARP resolution or a socket
/// not bound yet).
const UDP_TRIES: u32 = 5;
/// Wait for one echoed datagram.
const UDP_WAIT: Duration = Duration::from_secs(2);
/// Wait for any progress on a TCP connection (connect, one read).
const TCP_WAIT: Duration = Duration::from_secs(10);
/// A whole TCP connection's bound.
const TCP_DEADLINE: Duration = Duration::from_secs(60);

/// Whether runs of `image` get a network card.
pub fn needs_net(image: &Image) -> bool {
    image.devices.iter().any(|d| d.name == "virtio-net")
}

/// The guest's HTTP port (servers/apps/web).
pub const GUEST_HTTP_PORT: u16 = 80;

/// Host ports forwarded to the guest, on 127.0.0.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub udp: u16,
    pub tcp: u16,
    /// To the guest's TCP port [`GUEST_HTTP_PORT`].
    pub http: u16,
}

impl Ports {
    /// Ports free on 127.0.0.1 now (the kernel picks them; they are closed
    /// again before QEMU binds them).
    pub fn pick() -> Result<Ports> {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).context("picking a UDP port")?;
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("picking a TCP port")?;
        let http = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("picking a TCP port")?;
        Ok(Ports {
            udp: udp.local_addr()?.port(),
            tcp: tcp.local_addr()?.port(),
            http: http.local_addr()?.port(),
        })
    }

    /// The line for a user of the web image (servers/apps/web).
    pub fn url(&self) -> String {
        format!(
            "web: serving on http://127.0.0.1:{}/ (guest 10.0.2.15 port {GUEST_HTTP_PORT}); Ctrl-C or q on the console stops it",
            self.http
        )
    }

    /// A line for the user: where the guest's ports are.
    pub fn describe(&self) -> String {
        format!(
            "net: guest 10.0.2.15 udp port {g} is 127.0.0.1:{}, tcp port {g} is 127.0.0.1:{}",
            self.udp,
            self.tcp,
            g = GUEST_ECHO_PORT
        )
    }
}

/// The guest address QEMU's user network forwards to by default (its
/// DHCP server's first address).
const GUEST: [u8; 4] = [10, 0, 2, 15];

/// Where in the guest the echo ports are: the addresses of the UDP and the
/// TCP echo task. With the stack on the kernel core (configuration 1) both
/// are the server's, 10.0.2.15; with raw frames (configuration 2, the
/// server's `values = { mode = 2 }`) client `i` of the network service has
/// 10.0.2.(15 + i) (servers/net/server/src/frames.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Guests {
    pub udp: [u8; 4],
    pub tcp: [u8; 4],
}

impl Guests {
    /// Both echo ports on the stack's one address.
    pub const ONE: Guests = Guests {
        udp: GUEST,
        tcp: GUEST,
    };
}

/// The echo tasks' addresses in `image`.
pub fn guests(image: &Image) -> Guests {
    let frames = image.tasks.iter().any(|t| {
        t.provides.as_deref() == Some("net") && t.values.iter().any(|(k, v)| k == "mode" && *v == 2)
    });
    if !frames {
        return Guests::ONE;
    }
    let mut g = Guests::ONE;
    let clients = image
        .tasks
        .iter()
        .filter(|t| t.uses.iter().any(|u| u == "net"));
    for (i, t) in clients.enumerate() {
        let addr = [10, 0, 2, 15 + i as u8];
        match t.name.as_str() {
            "udpecho" | "net-reclient" | "net-connect" => g.udp = addr,
            "tcpecho" => g.tcp = addr,
            _ => {}
        }
    }
    g
}

/// A forward's guest side: empty for QEMU's default address.
fn guest(addr: [u8; 4]) -> String {
    if addr == GUEST {
        String::new()
    } else {
        let [a, b, c, d] = addr;
        format!("{a}.{b}.{c}.{d}")
    }
}

/// QEMU's arguments for the card: virtio-mmio (the modern transport is
/// set by the caller), user networking with the two forwards, to the echo
/// tasks at `guests`.
pub fn qemu_args_to(ports: Ports, guests: Guests) -> Vec<String> {
    vec![
        "-netdev".into(),
        format!(
            "user,id=net0,hostfwd=udp:127.0.0.1:{}-{}:{g},hostfwd=tcp:127.0.0.1:{}-{}:{g},hostfwd=tcp:127.0.0.1:{}-{}:{GUEST_HTTP_PORT}",
            ports.udp,
            guest(guests.udp),
            ports.tcp,
            guest(guests.tcp),
            ports.http,
            guest(guests.tcp),
            g = GUEST_ECHO_PORT
        ),
        "-device".into(),
        "virtio-net-device,netdev=net0".into(),
    ]
}

/// Byte `j` of test message `i`: a pattern that differs between messages.
fn pattern(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| ((i * 131 + j * 7 + j / 251) % 256) as u8)
        .collect()
}

/// The host side of a network test: the datagrams, then `quit`, then the
/// TCP connections, each echo checked byte for byte, then the web server's
/// checks if the case asks for them. Returns what was done (one line each)
/// or the first problem.
pub fn check_echo(ports: Ports, t: &NetTraffic) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    for (k, &len) in t.connect.iter().enumerate() {
        done.push(connect_back(ports.udp, k, len)?);
    }
    if !t.udp.is_empty() || !t.connect.is_empty() {
        done.push(udp_echo(ports.udp, t.udp)?);
    }
    for (k, &len) in t.tcp.iter().enumerate() {
        done.push(tcp_echo(ports.tcp, k, len)?);
    }
    if t.web {
        done.extend(crate::web::check_web(ports.http, t.web_at_once)?);
    }
    Ok(done)
}

fn udp_echo(port: u16, sizes: &[usize]) -> Result<String, String> {
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| format!("udp: bind: {e}"))?;
    sock.connect(to).map_err(|e| format!("udp: connect: {e}"))?;
    sock.set_read_timeout(Some(UDP_WAIT))
        .map_err(|e| format!("udp: {e}"))?;
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut retries = 0;
    let mut messages: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| pattern(i, n))
        .collect();
    messages.push(b"quit".to_vec());
    for (i, msg) in messages.iter().enumerate() {
        let expect: &[u8] = if i == sizes.len() { b"bye" } else { msg };
        let mut ok = false;
        for _ in 0..UDP_TRIES {
            sock.send(msg).map_err(|e| format!("udp: send {i}: {e}"))?;
            sent.push(msg.clone());
            match receive_datagram(&sock, expect, &sent) {
                Ok(true) => {
                    ok = true;
                    break;
                }
                Ok(false) => retries += 1,
                Err(e) => return Err(format!("udp: datagram {i} ({} bytes): {e}", msg.len())),
            }
        }
        if !ok {
            return Err(format!(
                "udp: datagram {i} ({} bytes): no echo in {UDP_TRIES} tries of {UDP_WAIT:?}",
                msg.len()
            ));
        }
    }
    if sizes.is_empty() {
        return Ok(format!("udp: quit/bye ({retries} resent)"));
    }
    Ok(format!(
        "udp: {} datagrams of {}..{} bytes echoed byte for byte, then quit/bye ({retries} resent)",
        sizes.len(),
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    ))
}

/// Waits for `expect`: `Ok(true)` when it came, `Ok(false)` when the wait
/// ran out (or the port was not open yet), and an error for a datagram
/// that is no echo of anything sent. Late echoes of earlier tries are
/// skipped.
fn receive_datagram(sock: &UdpSocket, expect: &[u8], sent: &[Vec<u8>]) -> Result<bool, String> {
    let mut buf = vec![0u8; 65536];
    let until = Instant::now() + UDP_WAIT;
    while Instant::now() < until {
        match sock.recv(&mut buf) {
            Ok(n) if &buf[..n] == expect => return Ok(true),
            Ok(n) if sent.iter().any(|s| s[..] == buf[..n]) => continue,
            Ok(n) => {
                return Err(format!(
                    "a {n}-byte datagram that is no echo (first bytes {:02x?})",
                    &buf[..n.min(8)]
                ))
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Ok(false)
            }
            // ICMP port unreachable: the echo task has not bound yet.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                std::thread::sleep(Duration::from_millis(200));
                return Ok(false);
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(false)
}

/// One TCP connection to the guest: [`echo_on`].
fn tcp_echo(port: u16, k: usize, len: usize) -> Result<String, String> {
    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let conn = TcpStream::connect_timeout(&to, TCP_WAIT)
        .map_err(|e| format!("tcp: connection {k}: connect: {e}"))?;
    echo_on(conn, k, len).map_err(|e| format!("tcp: connection {k}: {e}"))?;
    Ok(format!(
        "tcp: connection {k}: {len} bytes echoed byte for byte, closed by the guest after the host's FIN"
    ))
}

/// One connection the guest opens: the host listens on a free port of
/// 127.0.0.1, asks for the connection over the UDP forward (`connect
/// PORT`, until the guest answers `connecting PORT`), accepts it (slirp
/// brings the guest's 10.0.2.2:PORT here) and runs [`echo_on`].
fn connect_back(udp_port: u16, k: usize, len: usize) -> Result<String, String> {
    let err = |e: std::io::Error| format!("connect: connection {k}: {e}");
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(err)?;
    let port = listener.local_addr().map_err(err)?.port();
    listener.set_nonblocking(true).map_err(err)?;
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(err)?;
    sock.connect(SocketAddr::from((Ipv4Addr::LOCALHOST, udp_port)))
        .and_then(|()| sock.set_read_timeout(Some(UDP_WAIT)))
        .map_err(err)?;
    let ask = format!("connect {port}").into_bytes();
    let answer = format!("connecting {port:05}").into_bytes();
    let mut answered = false;
    for _ in 0..UDP_TRIES {
        sock.send(&ask).map_err(err)?;
        match receive_datagram(&sock, &answer, std::slice::from_ref(&ask)) {
            Ok(true) => {
                answered = true;
                break;
            }
            Ok(false) => {}
            Err(e) => return Err(format!("connect: connection {k}: {e}")),
        }
    }
    if !answered {
        return Err(format!(
            "connect: connection {k}: no answer to `connect {port}` in {UDP_TRIES} tries of {UDP_WAIT:?}"
        ));
    }
    let start = Instant::now();
    let conn = loop {
        match listener.accept() {
            Ok((c, _)) => break c,
            Err(e) if e.kind() == ErrorKind::WouldBlock && start.elapsed() < TCP_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                return Err(format!(
                    "connect: connection {k}: the guest did not connect to port {port} within {TCP_WAIT:?}"
                ))
            }
            Err(e) => return Err(err(e)),
        }
    };
    conn.set_nonblocking(false).map_err(err)?;
    echo_on(conn, k, len).map_err(|e| format!("connect: connection {k}: {e}"))?;
    Ok(format!(
        "connect: connection {k}, opened by the guest: {len} bytes echoed byte for byte, closed by the guest after the host's FIN"
    ))
}

/// `len` bytes written on `conn` by a thread while this one reads the
/// echo; then the write side is shut, and the guest must close too.
fn echo_on(conn: TcpStream, k: usize, len: usize) -> Result<(), String> {
    conn.set_read_timeout(Some(TCP_WAIT))
        .and_then(|()| conn.set_write_timeout(Some(TCP_WAIT)))
        .map_err(|e| format!("tcp: {e}"))?;
    let data = pattern(1000 + k, len);
    let mut writer = conn.try_clone().map_err(|e| format!("tcp: {e}"))?;
    let out = data.clone();
    let sender = std::thread::spawn(move || -> std::io::Result<()> {
        for chunk in out.chunks(1000) {
            writer.write_all(chunk)?;
        }
        writer.shutdown(Shutdown::Write)
    });
    let start = Instant::now();
    let mut got = Vec::with_capacity(len);
    let mut reader = conn;
    let mut buf = [0u8; 8192];
    let result = loop {
        if start.elapsed() > TCP_DEADLINE {
            break Err(format!("not done in {TCP_DEADLINE:?}"));
        }
        match reader.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() > len {
                    break Err(format!("{} bytes back for {len} sent", got.len()));
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => break Err(format!("read after {} of {len} bytes: {e}", got.len())),
        }
    };
    let _ = reader.shutdown(Shutdown::Both);
    let sent = sender.join().unwrap_or(Ok(()));
    result?;
    sent.map_err(|e| format!("write: {e}"))?;
    if got != data {
        let at = got.iter().zip(&data).position(|(a, b)| a != b);
        return Err(format!(
            "{} bytes back for {len} sent, first difference at {at:?}",
            got.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_only_loopback_ports_to_the_echo_ports() {
        let args = qemu_args_to(
            Ports {
                udp: 40001,
                tcp: 40002,
                http: 40003,
            },
            Guests::ONE,
        );
        assert_eq!(
            args,
            [
                "-netdev",
                "user,id=net0,hostfwd=udp:127.0.0.1:40001-:7,hostfwd=tcp:127.0.0.1:40002-:7,hostfwd=tcp:127.0.0.1:40003-:80",
                "-device",
                "virtio-net-device,netdev=net0"
            ]
        );
    }

    #[test]
    fn raw_frames_forward_to_each_echo_task() {
        let args = qemu_args_to(
            Ports {
                udp: 40001,
                tcp: 40002,
                http: 40003,
            },
            Guests {
                udp: [10, 0, 2, 15],
                tcp: [10, 0, 2, 16],
            },
        );
        assert_eq!(
            args[1],
            "user,id=net0,hostfwd=udp:127.0.0.1:40001-:7,hostfwd=tcp:127.0.0.1:40002-10.0.2.16:7,hostfwd=tcp:127.0.0.1:40003-10.0.2.16:80"
        );
    }

    #[test]
    fn picked_ports_are_real() {
        let p = Ports::pick().unwrap();
        assert!(p.udp != 0 && p.tcp != 0);
        assert!(p.describe().contains(&format!("127.0.0.1:{}", p.tcp)));
    }

    #[test]
    fn messages_differ() {
        assert_eq!(pattern(3, 10).len(), 10);
        assert_ne!(pattern(0, 64), pattern(1, 64));
        assert_ne!(pattern(0, 600)[..300], pattern(0, 600)[300..]);
    }

    /// The host step against a loopback echo (threads on this machine
    /// standing in for the guest): every check passes on faithful echoes
    /// and a wrong byte is caught.
    #[test]
    fn host_step_checks_echoes() {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let ports = Ports {
            udp: udp.local_addr().unwrap().port(),
            tcp: tcp.local_addr().unwrap().port(),
            http: 0,
        };
        let u = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            loop {
                let (n, from) = udp.recv_from(&mut buf).unwrap();
                if &buf[..n] == b"quit" {
                    udp.send_to(b"bye", from).unwrap();
                    return;
                }
                udp.send_to(&buf[..n], from).unwrap();
            }
        });
        let t = std::thread::spawn(move || {
            for k in 0..2 {
                let (mut c, _) = tcp.accept().unwrap();
                let mut buf = [0u8; 4096];
                loop {
                    let n = c.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    if k == 1 {
                        buf[0] ^= 1; // the second connection corrupts
                    }
                    c.write_all(&buf[..n]).unwrap();
                }
            }
        });
        let traffic = NetTraffic {
            udp: &[1, 1472],
            tcp: &[5000],
            ..NetTraffic::NONE
        };
        let done = check_echo(ports, &traffic).unwrap();
        assert_eq!(done.len(), 2, "{done:?}");
        let bad = check_echo(
            ports,
            &NetTraffic {
                tcp: &[5000],
                ..NetTraffic::NONE
            },
        );
        assert!(bad.unwrap_err().contains("first difference at Some(0)"));
        u.join().unwrap();
        t.join().unwrap();
    }

    /// The connect-back step against a stand-in guest on this machine: it
    /// answers `connect PORT`, connects to the port and echoes; then
    /// `quit`.
    #[test]
    fn host_step_checks_connections_the_guest_opens() {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let ports = Ports {
            udp: udp.local_addr().unwrap().port(),
            tcp: 0,
            http: 0,
        };
        let g = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            loop {
                let (n, from) = udp.recv_from(&mut buf).unwrap();
                let msg = std::str::from_utf8(&buf[..n]).unwrap().to_string();
                if msg == "quit" {
                    udp.send_to(b"bye", from).unwrap();
                    return;
                }
                let port: u16 = msg.strip_prefix("connect ").unwrap().parse().unwrap();
                udp.send_to(format!("connecting {port:05}").as_bytes(), from)
                    .unwrap();
                let mut c = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
                let mut b = [0u8; 4096];
                loop {
                    let n = c.read(&mut b).unwrap();
                    if n == 0 {
                        break;
                    }
                    c.write_all(&b[..n]).unwrap();
                }
            }
        });
        let traffic = NetTraffic {
            connect: &[3000, 20_000],
            ..NetTraffic::NONE
        };
        let done = check_echo(ports, &traffic).unwrap();
        assert_eq!(done.len(), 3, "{done:?}");
        assert!(done[1].contains("20000 bytes echoed"), "{done:?}");
        g.join().unwrap();
    }
}
