//! The block server, whose first instance crashes once it has answered 8
//! requests, while requests are in the device (the kernel resets the
//! device before the dead instance's DMA window is freed; the supervisor
//! restarts the server; clients get `Restarted` for what was outstanding
//! and go on).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let crash = (start.restarts == 0).then_some(8);
    blk::run(start, crash)
}
