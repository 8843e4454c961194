//! A test build of the block server whose first instance crashes once it
//! has answered 8 requests, at a moment when requests are in the device
//! (or, failing such a moment within 200 more answers, with none). The
//! kernel resets the device before the dead instance's DMA window is
//! freed; the supervisor restarts the server; clients get `Restarted` for
//! what was outstanding and go on. The fault is injected here, through the
//! server's test-only hook, not in the server.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let first = start.restarts == 0;
    if first && !ack_needs_write() {
        return 3;
    }
    blk::run_with_test_hook(start, |p: blk::Progress| {
        if first && p.served >= 8 && (p.in_device > 0 || p.served >= 208) {
            ulib::println!(
                "blk server: crashing on purpose (test build), {} request(s) in the device",
                p.in_device
            );
            ulib::fault_on_purpose();
        }
    })
}

/// The device's interrupt is re-armed only through a capability with W:
/// `InterruptAck` through a read-only copy of the device capability (the
/// one segment this task holds at start) is `MissingRights`.
fn ack_needs_write() -> bool {
    let device = (2..64u8)
        .map(ulib::CPtr::root)
        .find(|&c| ulib::cap::cap_info(c).is_ok_and(|(k, _)| k == ulib::ObjectKind::Segment));
    let (Some(device), Some(copy)) = (device, ulib::cap::free_slot()) else {
        ulib::println!("blk server: FAILED: no device capability to copy");
        return false;
    };
    if ulib::cap::cap_copy(device, copy, ulib::Rights::READ).is_err() {
        ulib::println!("blk server: FAILED: cannot copy the device capability");
        return false;
    }
    let r = ulib::interrupt_ack(copy);
    let _ = ulib::cap::cap_delete(copy);
    if r == Err(ulib::Error::MissingRights) {
        ulib::println!(
            "blk server: InterruptAck through a read-only device capability refused (MissingRights)"
        );
        true
    } else {
        ulib::println!("blk server: FAILED: InterruptAck without W gave {:?}", r);
        false
    }
}
