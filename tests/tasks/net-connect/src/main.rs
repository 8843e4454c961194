//! A network client that opens connections itself (images/net-connect.toml
//! and net-connect-raw.toml; docs/network-tests.md, *Connections the guest
//! opens*): over whichever configuration the server runs
//! (`net_local::attach`), it waits on UDP port 7 for the host's
//! `connect PORT`, answers `connecting PORT`, opens a TCP connection to
//! the datagram's source address (slirp's 10.0.2.2, the host's loopback)
//! at that port (`Sockets::tcp_connect`), echoes everything the host sends
//! on it until the host's FIN, and closes it; `quit` (answered `bye`)
//! ends it.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use net_api::client::Error;
use net_api::{Endpoint, Handle, Sockets};
use net_local::Any;

ulib::entry!(main);

/// The port the host's requests arrive on (the host's UDP forward).
const PORT: u16 = 7;

fn main(_start: ulib::Start) -> i32 {
    // Safety: called once, the only connection of this task.
    match unsafe { net_local::attach() } {
        Ok(Any::Remote(mut net)) => run(&mut net),
        Ok(Any::Local(mut net)) => run(&mut net),
        Err(e) => {
            ulib::println!("net-connect: cannot attach: {:?}", e);
            1
        }
    }
}

/// The port of a `connect PORT` request.
fn requested_port(msg: &[u8]) -> Option<u16> {
    let digits = msg.strip_prefix(b"connect ")?;
    let s = core::str::from_utf8(digits).ok()?;
    s.parse().ok().filter(|&p| p != 0)
}

fn run<S: Sockets>(net: &mut S) -> i32 {
    let sock: Handle = match net.udp_bind(PORT) {
        Ok(s) => s,
        Err(e) => {
            ulib::println!("net-connect: cannot bind udp port {}: {:?}", PORT, e);
            return 2;
        }
    };
    ulib::println!("net-connect: ready on udp port {}", PORT);
    let mut buf = [0u8; net_api::MAX_DATAGRAM];
    let mut last = 0u16;
    let mut opened = 0u32;
    loop {
        let (n, from) = match net.udp_recv(sock, &mut buf) {
            Ok(x) => x,
            Err(e) => {
                ulib::println!("net-connect: receive failed: {:?}", e);
                return 3;
            }
        };
        if &buf[..n] == b"quit" {
            if net.udp_send(sock, from, b"bye").is_err() {
                return 3;
            }
            break;
        }
        let Some(port) = requested_port(&buf[..n]) else {
            ulib::println!("net-connect: a datagram that is no request ({} bytes)", n);
            continue;
        };
        let mut reply = *b"connecting 00000";
        let digits = port_digits(port);
        reply[11..].copy_from_slice(&digits);
        if net.udp_send(sock, from, &reply).is_err() {
            return 3;
        }
        // A request the host sent again while this one was on its way.
        if port == last {
            continue;
        }
        last = port;
        opened += 1;
        let to = Endpoint {
            addr: from.addr,
            port,
        };
        match echo_over(net, to, &mut buf) {
            Ok(bytes) => ulib::println!(
                "net-connect: connection {}: {} bytes echoed, closed after the host's FIN (opened to port {} of the host)",
                opened,
                bytes,
                port
            ),
            Err(e) => {
                ulib::println!("net-connect: connection {} failed: {:?}", opened, e);
                return 4;
            }
        }
    }
    ulib::println!("net-connect: {} connection(s) opened, then quit", opened);
    if net.close(sock).and_then(|()| net.done()).is_err() {
        return 5;
    }
    0
}

/// Opens a connection to `to` and echoes what arrives until the peer's
/// FIN; then closes it. The bytes echoed.
fn echo_over<S: Sockets>(net: &mut S, to: Endpoint, buf: &mut [u8]) -> Result<usize, Error> {
    let c = net.tcp_connect(to)?;
    let mut total = 0;
    loop {
        let n = net.tcp_recv(c, buf)?;
        if n == 0 {
            break;
        }
        net.tcp_send(c, &buf[..n])?;
        total += n;
    }
    net.close(c)?;
    Ok(total)
}

/// `port` as five decimal digits.
fn port_digits(port: u16) -> [u8; 5] {
    let mut d = [b'0'; 5];
    let mut p = port;
    for k in (0..5).rev() {
        d[k] = b'0' + (p % 10) as u8;
        p /= 10;
    }
    d
}
