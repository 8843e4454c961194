//! UDP echo over the network service (`uses = ["net"]`): binds port
//! [`PORT`], sends every datagram back to where it came from, and stops
//! when a datagram says `quit` (answered `bye`) or after [`MAX_DATAGRAMS`],
//! so a test run ends. Then it tells the server it is done.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use net_api::client::Net;

ulib::entry!(main);

/// The echo port (RFC 862).
const PORT: u16 = 7;
/// Datagrams echoed at most, `quit` or not.
const MAX_DATAGRAMS: u64 = 10_000;

fn main(start: ulib::Start) -> i32 {
    // Safety: the only `Net` of this task.
    let mut net = match unsafe { Net::attach() } {
        Ok(n) => n,
        Err(e) => {
            ulib::println!("udpecho: cannot attach to the network service: {:?}", e);
            return 1;
        }
    };
    let sock = match net.udp_bind(PORT) {
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
    while echoed < MAX_DATAGRAMS {
        let (n, from) = match net.udp_recv(sock, &mut buf) {
            Ok(x) => x,
            Err(e) => {
                ulib::println!("udpecho: receive failed: {:?}", e);
                return 3;
            }
        };
        if &buf[..n] == b"quit" {
            if let Err(e) = net.udp_send(sock, from, b"bye") {
                ulib::println!("udpecho: send failed: {:?}", e);
                return 4;
            }
            break;
        }
        if let Err(e) = net.udp_send(sock, from, &buf[..n]) {
            ulib::println!("udpecho: send failed: {:?}", e);
            return 4;
        }
        echoed += 1;
        bytes += n as u64;
    }
    ulib::println!("udpecho: {} datagrams ({} bytes) echoed", echoed, bytes);
    if net.close(sock).and_then(|()| net.done()).is_err() {
        ulib::println!("udpecho: closing failed");
        return 5;
    }
    0
}
