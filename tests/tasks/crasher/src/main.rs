//! Faults on its first run (a read of an unmapped address); after the
//! supervisor restarts it, it finishes normally.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    if start.restarts == 0 {
        ulib::println!("crasher on core {}: first run, faulting", start.core);
        // Safety: deliberately unsound: the fault under test.
        let v = unsafe { (0x1234_5000 as *const u64).read_volatile() };
        core::hint::black_box(v);
        return 1;
    }
    ulib::println!(
        "crasher on core {}: restarted {} time(s), running fine",
        start.core,
        start.restarts
    );
    // A task that is not the supervisor may not restart anything.
    let me = ulib::TaskId {
        core: start.core as u32,
        slot: start.slot as u32,
    };
    if ulib::restart(me) != Err(ulib::Error::MissingRights) {
        ulib::println!("crasher: restart was not refused");
        return 2;
    }
    0
}
