//! The example application's producer (docs/writing-tasks.md walks through
//! it). It shows Corey's three ideas from one task's side:
//!
//! 1. a **private range** for data no other core sees: made with
//!    `range_create_private`, changed without any lock another core takes;
//! 2. a **shared range** made at run time, holding a segment of records;
//!    every core that links it shares its one page-table page;
//! 3. a **shared share** (the image's `meet`): the producer puts a
//!    read-only copy of the range capability there for the consumers, and
//!    revokes it at the end, which removes every copy on every core.
//!
//! It prints through the console service on its kernel core
//! (`uses = ["console"]` in the image), not with system calls.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use core::fmt::Write;
use records_common::{value, PAGES, RECORDS, RECORD_BYTES, SHARED_BASE, SHARED_SIZE};
use ulib::cap::{
    cap_copy, cap_info, cap_revoke, free_slot, link, map, range_create, range_create_private,
    segment_create, signal, wait_all,
};
use ulib::{CPtr, Rights};

ulib::entry!(main);

ulib::bind! {
    /// The image's shared share, where the range capability is passed.
    static MEET: Slot = "meet";
    /// One go notification per consumer.
    static GO1: Slot = "go1";
    static GO2: Slot = "go2";
    /// The consumers say they are done here (bit = their core).
    static DONE: Slot = "done";
}

/// Where the private range goes (this task's choice).
const PRIVATE_BASE: u64 = 0x1_4000_0000;
/// The consumers' cores, as bits on `done`.
const CONSUMERS: u64 = 0b110;
const RW: Rights = Rights::READ.union(Rights::WRITE);

/// Prints one line through the console service.
fn say(con: &mut Console, args: core::fmt::Arguments) {
    let mut line = ulib::Line::new();
    let _ = line.write_fmt(args);
    let _ = con.write_line(line.as_str());
}

fn main(_start: ulib::Start) -> i32 {
    let mut con = match Console::connect() {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("producer: FAILED: no console: {:?}", e);
            return 1;
        }
    };
    let status = match run(&mut con) {
        Ok(()) => 0,
        Err(what) => {
            say(&mut con, format_args!("producer: FAILED: {what}"));
            1
        }
    };
    let _ = con.done();
    status
}

/// A slot for an object this task makes.
fn slot() -> Result<CPtr, &'static str> {
    free_slot().ok_or("no free slot in the root share")
}

fn run(con: &mut Console) -> Result<(), &'static str> {
    let meet = MEET.index().ok_or("the image grants no share meet")?;
    let go = [GO1.get(), GO2.get()];
    let done = DONE.get().ok_or("the image grants no notification done")?;

    // 1. A private range, one page of scratch in it.
    let private = slot()?;
    range_create_private(private, PRIVATE_BASE, SHARED_SIZE).map_err(|_| "private range")?;
    let scratch = slot()?;
    segment_create(scratch, 1).map_err(|_| "scratch segment")?;
    map(private, PRIVATE_BASE, scratch, 0, 4096, RW).map_err(|_| "map scratch")?;
    link(private).map_err(|_| "link private range")?;

    // 2. The records, in a segment mapped into a run-time shared range.
    let records = slot()?;
    segment_create(records, PAGES).map_err(|_| "records segment")?;
    let shared = slot()?;
    range_create(shared, SHARED_BASE, SHARED_SIZE).map_err(|_| "shared range")?;
    map(shared, SHARED_BASE, records, 0, PAGES * 4096, RW).map_err(|_| "map records")?;
    link(shared).map_err(|_| "link shared range")?;
    let mut sum = 0u64;
    for i in 0..RECORDS as u64 {
        let at = (SHARED_BASE + i * RECORD_BYTES as u64) as *mut u64;
        // Safety: the records segment is mapped read/write at SHARED_BASE
        // (PAGES pages: RECORDS records of RECORD_BYTES), linked into this
        // task; nothing else writes it yet.
        unsafe {
            at.write_volatile(i);
            at.add(1).write_volatile(value(i));
        }
        sum = sum.wrapping_add(value(i));
    }
    // The sum is scratch data: it lives in the private range.
    let scratch_word = PRIVATE_BASE as *mut u64;
    // Safety: the scratch page is mapped read/write at PRIVATE_BASE in this
    // task's address space only.
    unsafe { scratch_word.write_volatile(sum) };
    say(
        con,
        format_args!(
            "producer: {RECORDS} records in a shared range, sum {sum:#x} kept in a private range"
        ),
    );

    // 3. A read-only copy of the range capability into the shared share;
    // GRANT too, so that a consumer may copy it out (a copy needs GRANT on
    // its source). The consumers' own copies keep READ only.
    let mask = Rights::READ.union(Rights::GRANT);
    cap_copy(shared, CPtr::via(meet, 0), mask).map_err(|_| "copy into meet")?;
    for g in go {
        signal(g.ok_or("the image grants no go notification")?, 1).map_err(|_| "go")?;
    }
    wait_all(done, CONSUMERS).map_err(|_| "wait for the consumers")?;
    // Revoking the original removes every copy derived from it, in meet
    // and in any task that still holds one, on every core.
    cap_revoke(shared).map_err(|_| "revoke")?;
    let gone = cap_info(CPtr::via(meet, 0)).is_err();
    // Safety: as above; the private range is still linked.
    let kept = unsafe { scratch_word.read_volatile() };
    say(
        con,
        format_args!(
            "producer: revoked the range capability: the copy in meet is {}; private sum {}",
            if gone { "gone" } else { "STILL THERE" },
            if kept == sum { "intact" } else { "CHANGED" }
        ),
    );
    if gone && kept == sum {
        Ok(())
    } else {
        Err("revoke or private range check")
    }
}
