//! A test build of the network server whose first instance crashes once it
//! has answered 10 requests (in images/net-crash.toml: the echo tasks'
//! bind and listen, then four datagrams received and echoed, so while the
//! host's UDP traffic flows). The kernel resets the card before the dead
//! instance's DMA window is freed; the supervisor restarts the server;
//! its clients get `Restarted`, bind and listen again, and the host's
//! retries reach the new instance. The fault is injected here, through the
//! server's test-only hook, not in the server.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let first = start.restarts == 0;
    net::run_with_test_hook(start, |p: net::Progress| {
        if first && p.served >= 10 {
            ulib::println!(
                "net server: crashing on purpose (test build) after {} answers",
                p.served
            );
            ulib::fault_on_purpose();
        }
    })
}
