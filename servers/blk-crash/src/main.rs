//! The block server, whose first instance crashes once it has answered 8
//! requests with nothing in the device (the supervisor restarts it; clients
//! get `Restarted` for what was outstanding and go on).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let crash = (start.restarts == 0).then_some(8);
    blk::run(start, crash)
}
