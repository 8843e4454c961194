//! A network client that dies and is restarted (images/net-reclient.toml
//! and net-reclient-raw.toml; docs/network-tests.md, *A client restarted*): a
//! UDP echo on port 7 over whichever configuration the server runs
//! (`net_local::attach`). Its first instance faults on purpose once it
//! has echoed [`CRASH_AFTER`] datagrams, holding its socket (configuration
//! 1: the server's; configuration 2: its own stack's, and receive buffers
//! posted to the server). The supervisor restarts it; the new instance
//! attaches again, binds port 7 again and echoes what the host sends
//! after, its retries bringing the datagram that met no socket, until
//! `quit` (answered `bye`); then it closes and says `Done`.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use net_api::{Handle, Sockets};
use net_local::Any;

ulib::entry!(main);

/// The echo port (the host's UDP forward reaches it).
const PORT: u16 = 7;
/// Echoes the first instance makes before it faults.
const CRASH_AFTER: u64 = 3;

fn main(start: ulib::Start) -> i32 {
    // Safety: called once, the only connection of this task.
    match unsafe { net_local::attach() } {
        Ok(Any::Remote(mut net)) => run(&mut net, start),
        Ok(Any::Local(mut net)) => run(&mut net, start),
        Err(e) => {
            ulib::println!("net-reclient: cannot attach: {:?}", e);
            1
        }
    }
}

fn run<S: Sockets>(net: &mut S, start: ulib::Start) -> i32 {
    let first = start.restarts == 0;
    let sock: Handle = match net.udp_bind(PORT) {
        Ok(s) => s,
        Err(e) => {
            ulib::println!("net-reclient: cannot bind udp port {}: {:?}", PORT, e);
            return 2;
        }
    };
    ulib::println!(
        "net-reclient: instance {} ready on udp port {}",
        start.restarts,
        PORT
    );
    let mut buf = [0u8; net_api::MAX_DATAGRAM];
    let mut echoed = 0u64;
    loop {
        let r = net.udp_recv(sock, &mut buf).and_then(|(n, from)| {
            let quit = &buf[..n] == b"quit";
            let reply: &[u8] = if quit { b"bye" } else { &buf[..n] };
            net.udp_send(sock, from, reply).map(|()| quit)
        });
        match r {
            Ok(true) => break,
            Ok(false) => echoed += 1,
            Err(e) => {
                ulib::println!("net-reclient: echo failed: {:?}", e);
                return 3;
            }
        }
        if first && echoed == CRASH_AFTER {
            ulib::println!(
                "net-reclient: crashing on purpose (test build) after {} echoes, holding its socket",
                echoed
            );
            ulib::fault_on_purpose();
        }
    }
    ulib::println!(
        "net-reclient: instance {}: {} datagrams echoed, then quit",
        start.restarts,
        echoed
    );
    if net.close(sock).and_then(|()| net.done()).is_err() {
        ulib::println!("net-reclient: closing failed");
        return 4;
    }
    0
}
