//! TCP echo over the network service (`uses = ["net"]`): listens on port
//! [`PORT`], and for each of [`CONNECTIONS`] connections in turn sends back
//! every byte it receives until the peer closes its side, then closes.
//! Then it tells the server it is done, so a test run ends. A server
//! restart loses every socket: it listens again, and a connection cut
//! short does not count.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use net_api::client::Error;
use net_api::{Handle, Sockets};
use net_local::Any;

ulib::entry!(main);

/// The echo port (RFC 862).
const PORT: u16 = 7;
/// Connections served before the task ends.
const CONNECTIONS: u32 = 2;
/// Pending connections the listener holds.
const BACKLOG: u64 = 2;

/// Listens on [`PORT`], again if the server restarts meanwhile.
fn listen<S: Sockets>(net: &mut S) -> Result<Handle, Error> {
    loop {
        match net.tcp_listen(PORT, BACKLOG) {
            Err(Error::Restarted) => continue,
            r => return r,
        }
    }
}

/// Echoes connection `conn` until the peer closes its side, then closes
/// it; the bytes echoed.
fn echo<S: Sockets>(net: &mut S, conn: Handle, buf: &mut [u8]) -> Result<u64, Error> {
    let mut bytes = 0u64;
    loop {
        let n = net.tcp_recv(conn, buf)?;
        if n == 0 {
            break;
        }
        net.tcp_send(conn, &buf[..n])?;
        bytes += n as u64;
    }
    net.close(conn)?;
    Ok(bytes)
}

fn main(start: ulib::Start) -> i32 {
    // Safety: called once, the only connection of this task.
    match unsafe { net_local::attach() } {
        Ok(Any::Remote(mut net)) => run(&mut net, start),
        Ok(Any::Local(mut net)) => run(&mut net, start),
        Err(e) => {
            ulib::println!("tcpecho: cannot attach to the network service: {:?}", e);
            1
        }
    }
}

/// Serves through `net`, the server's stack or this task's own.
fn run<S: Sockets>(net: &mut S, start: ulib::Start) -> i32 {
    let mut listener = match listen(net) {
        Ok(l) => l,
        Err(e) => {
            ulib::println!("tcpecho: cannot listen on tcp port {}: {:?}", PORT, e);
            return 2;
        }
    };
    ulib::println!("tcpecho: ready on tcp port {} (core {})", PORT, start.core);
    let mut buf = [0u8; 4096];
    let mut k = 1;
    while k <= CONNECTIONS {
        let r = net
            .tcp_accept(listener)
            .and_then(|(conn, peer)| echo(net, conn, &mut buf).map(|b| (peer, b)));
        match r {
            Ok((peer, bytes)) => {
                let [a, b, c, d] = peer.addr;
                ulib::println!(
                    "tcpecho: connection {} from {}.{}.{}.{}: {} bytes echoed",
                    k,
                    a,
                    b,
                    c,
                    d,
                    bytes
                );
                k += 1;
            }
            Err(Error::Restarted) => {
                listener = match listen(net) {
                    Ok(l) => l,
                    Err(e) => {
                        ulib::println!("tcpecho: cannot listen again: {:?}", e);
                        return 3;
                    }
                };
                ulib::println!(
                    "tcpecho: the network server restarted: listening on port {} again",
                    PORT
                );
            }
            Err(e) => {
                ulib::println!("tcpecho: connection {} failed: {:?}", k, e);
                return 4;
            }
        }
    }
    if net.close(listener).and_then(|()| net.done()).is_err() {
        ulib::println!("tcpecho: closing failed");
        return 5;
    }
    0
}
