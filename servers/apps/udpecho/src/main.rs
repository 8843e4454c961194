//! UDP echo over the network service (`uses = ["net"]`): binds port
//! [`PORT`], sends every datagram back to where it came from, and stops
//! when a datagram says `quit` (answered `bye`) or after [`MAX_DATAGRAMS`]
//! (the image's `values = { max = N }` raises it: `cargo xtask bench net`'s
//! rate sweep echoes more), so a test run ends. Then it tells the server it is done. A server
//! restart loses the socket (and a datagram being echoed): it binds again.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use net_api::client::Error;
use net_api::{Handle, Sockets};
use net_local::Any;

ulib::entry!(main);

ulib::bind! {
    /// Datagrams echoed at most (`values = { max = N }`), instead of
    /// [`MAX_DATAGRAMS`].
    static MAX: Value = "max";
}

/// The echo port (RFC 862).
const PORT: u16 = 7;
/// Datagrams echoed at most, `quit` or not, unless the image says.
const MAX_DATAGRAMS: u64 = 10_000;

/// Binds [`PORT`], again if the server restarts meanwhile.
fn bind<S: Sockets>(net: &mut S) -> Result<Handle, Error> {
    loop {
        match net.udp_bind(PORT) {
            Err(Error::Restarted) => continue,
            r => return r,
        }
    }
}

fn main(start: ulib::Start) -> i32 {
    // Safety: called once, the only connection of this task.
    match unsafe { net_local::attach() } {
        Ok(Any::Remote(mut net)) => run(&mut net, start),
        Ok(Any::Local(mut net)) => run(&mut net, start),
        Err(e) => {
            ulib::println!("udpecho: cannot attach to the network service: {:?}", e);
            1
        }
    }
}

/// Serves through `net`, the server's stack or this task's own.
fn run<S: Sockets>(net: &mut S, start: ulib::Start) -> i32 {
    let mut sock = match bind(net) {
        Ok(s) => s,
        Err(e) => {
            ulib::println!("udpecho: cannot bind udp port {}: {:?}", PORT, e);
            return 2;
        }
    };
    ulib::println!("udpecho: ready on udp port {} (core {})", PORT, start.core);
    let mut buf = [0u8; net_api::MAX_DATAGRAM];
    let mut echoed = 0u64;
    let mut bytes = 0u64;
    let max = MAX.get().unwrap_or(MAX_DATAGRAMS);
    while echoed < max {
        let r = net.udp_recv(sock, &mut buf).and_then(|(n, from)| {
            let quit = &buf[..n] == b"quit";
            let reply: &[u8] = if quit { b"bye" } else { &buf[..n] };
            net.udp_send(sock, from, reply).map(|()| (n, quit))
        });
        match r {
            Ok((_, true)) => break,
            Ok((n, false)) => {
                echoed += 1;
                bytes += n as u64;
            }
            Err(Error::Restarted) => {
                sock = match bind(net) {
                    Ok(s) => s,
                    Err(e) => {
                        ulib::println!("udpecho: cannot bind again: {:?}", e);
                        return 3;
                    }
                };
                ulib::println!(
                    "udpecho: the network server restarted: bound port {} again",
                    PORT
                );
            }
            Err(e) => {
                ulib::println!("udpecho: echo failed: {:?}", e);
                return 4;
            }
        }
    }
    ulib::println!("udpecho: {} datagrams ({} bytes) echoed", echoed, bytes);
    if net.close(sock).and_then(|()| net.done()).is_err() {
        ulib::println!("udpecho: closing failed");
        return 5;
    }
    0
}
