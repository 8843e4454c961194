//! A test build of the SD card block server whose first instance crashes
//! once it has answered 8 requests, at a moment when a request is in the
//! device (done, not yet answered), or, failing such a moment within 200
//! more answers, with none. The kernel resets the controller; the
//! supervisor restarts the server, which initialises the card again;
//! clients get `Restarted` for what was outstanding and go on. The fault
//! is injected here, through the server's test-only hook, not in the
//! server.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let first = start.restarts == 0;
    sd::run_with_test_hook(start, |p: sd::Progress| {
        if first && p.served >= 8 && (p.in_device > 0 || p.served >= 208) {
            ulib::println!(
                "sd server: crashing on purpose (test build), {} request(s) in the device",
                p.in_device
            );
            ulib::fault_on_purpose();
        }
    })
}
