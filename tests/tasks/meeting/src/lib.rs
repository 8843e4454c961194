//! The meeting the multi-core test and benchmark tasks share (revoker, rights, leaker,
//! corey): the image's shared share `meet` where capabilities pass between
//! cores, the notification `ack` on which the others answer core 0, and
//! one notification `goN` per core on which core 0 signals core N. Each is
//! bound by name (`ulib::bind`); an image that does not give one makes the
//! accessor panic with the name, which the task's panic report shows.
//!
//! A library's bindings are in every task that links it, so these live in
//! their own crate, linked only by the tasks that meet this way (an
//! application may bind its own `meet`).

#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

use ulib::CPtr;

ulib::bind! {
    /// The shared share the tasks meet in.
    static MEET: Slot = "meet";
    /// The others answer core 0 here (bits: whatever the task's protocol
    /// says, often its core).
    static ACK: Slot = "ack";
    /// Core 0's signals to core N.
    static GO0: Slot = "go0";
    static GO1: Slot = "go1";
    static GO2: Slot = "go2";
    static GO3: Slot = "go3";
    static GO4: Slot = "go4";
    static GO5: Slot = "go5";
    static GO6: Slot = "go6";
    static GO7: Slot = "go7";
}

/// The root slot of the share `meet` (for `CPtr::via`).
pub fn meet() -> u8 {
    MEET.index().expect("the image grants share meet")
}

/// The notification `ack`.
pub fn ack() -> CPtr {
    ACK.get().expect("the image grants notification ack")
}

/// The notification `go<core>`.
pub fn go(core: usize) -> CPtr {
    [&GO0, &GO1, &GO2, &GO3, &GO4, &GO5, &GO6, &GO7]
        .get(core)
        .and_then(|s| s.get())
        .expect("the image grants this core's go notification")
}
