//! The console server, whose first instance crashes after 50 lines (the
//! supervisor restarts it; clients get errors for what was in flight).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let crash = (start.restarts == 0).then_some(50);
    console::server::run(start, crash)
}
