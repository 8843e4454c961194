//! TCP echo over the network service (`uses = ["net"]`): listens on port
//! [`PORT`], and for each of [`CONNECTIONS`] connections in turn sends back
//! every byte it receives until the peer closes its side, then closes.
//! Then it tells the server it is done, so a test run ends.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use net_api::client::Net;

ulib::entry!(main);

/// The echo port (RFC 862).
const PORT: u16 = 7;
/// Connections served before the task ends.
const CONNECTIONS: u32 = 2;

fn main(start: ulib::Start) -> i32 {
    // Safety: the only `Net` of this task.
    let mut net = match unsafe { Net::attach() } {
        Ok(n) => n,
        Err(e) => {
            ulib::println!("tcpecho: cannot attach to the network service: {:?}", e);
            return 1;
        }
    };
    let listener = match net.tcp_listen(PORT, 2) {
        Ok(l) => l,
        Err(e) => {
            ulib::println!("tcpecho: cannot listen on tcp port {}: {:?}", PORT, e);
            return 2;
        }
    };
    ulib::println!("tcpecho: ready on tcp port {} (core {})", PORT, start.core);
    let mut buf = [0u8; 4096];
    for k in 1..=CONNECTIONS {
        let (conn, peer) = match net.tcp_accept(listener) {
            Ok(x) => x,
            Err(e) => {
                ulib::println!("tcpecho: accept failed: {:?}", e);
                return 3;
            }
        };
        let mut bytes = 0u64;
        loop {
            let n = match net.tcp_recv(conn, &mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    ulib::println!("tcpecho: receive failed: {:?}", e);
                    return 4;
                }
            };
            if let Err(e) = net.tcp_send(conn, &buf[..n]) {
                ulib::println!("tcpecho: send failed: {:?}", e);
                return 5;
            }
            bytes += n as u64;
        }
        if let Err(e) = net.close(conn) {
            ulib::println!("tcpecho: close failed: {:?}", e);
            return 6;
        }
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
    }
    if net.close(listener).and_then(|()| net.done()).is_err() {
        ulib::println!("tcpecho: closing failed");
        return 7;
    }
    0
}
