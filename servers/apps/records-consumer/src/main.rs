//! The example application's consumer (docs/writing-tasks.md): waits for
//! the producer, copies the read-only range capability out of the image's
//! shared share `meet`, links the range (the same page-table page the
//! producer's core uses), checks every record, and tells the producer.
//! Prints through the console service on its kernel core.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use core::fmt::Write;
use records_common::{value, RECORDS, RECORD_BYTES, SHARED_BASE};
use ulib::cap::{cap_copy, cap_delete, free_slot, link, signal, unlink, wait_all};
use ulib::{CPtr, Rights};

ulib::entry!(main);

ulib::bind! {
    /// The image's shared share the producer passes the range through.
    static MEET: Slot = "meet";
    /// This consumer's go notification (the image names it `as = "go"`).
    static GO: Slot = "go";
    /// Where this consumer says it is done (its bit: its core).
    static DONE: Slot = "done";
}

fn say(con: &mut Console, args: core::fmt::Arguments) {
    let mut line = ulib::Line::new();
    let _ = line.write_fmt(args);
    let _ = con.write_line(line.as_str());
}

fn main(start: ulib::Start) -> i32 {
    let mut con = match Console::connect() {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("consumer: FAILED: no console: {:?}", e);
            return 1;
        }
    };
    let status = match run(&mut con, start.core) {
        Ok(checked) => {
            say(
                &mut con,
                format_args!(
                    "consumer {}: {checked} records checked through a read-only link",
                    start.core
                ),
            );
            0
        }
        Err(what) => {
            say(
                &mut con,
                format_args!("consumer {}: FAILED: {what}", start.core),
            );
            1
        }
    };
    let _ = con.flush();
    if let Some(done) = DONE.get() {
        let _ = signal(done, 1 << start.core);
    }
    let _ = con.done();
    status
}

fn run(_con: &mut Console, _core: usize) -> Result<usize, &'static str> {
    let meet = MEET.index().ok_or("the image grants no share meet")?;
    let go = GO.get().ok_or("the image grants no go notification")?;
    wait_all(go, 1).map_err(|_| "wait for the producer")?;
    let mine = free_slot().ok_or("no free slot")?;
    cap_copy(CPtr::via(meet, 0), mine, Rights::READ).map_err(|_| "copy out of meet")?;
    link(mine).map_err(|_| "link")?;
    let mut checked = 0;
    for i in 0..RECORDS as u64 {
        let at = (SHARED_BASE + i * RECORD_BYTES as u64) as *const u64;
        // Safety: the range is linked read-only at SHARED_BASE and the
        // producer filled RECORDS records before signalling go.
        let (index, v) = unsafe { (at.read_volatile(), at.add(1).read_volatile()) };
        if index != i || v != value(i) {
            return Err("a record does not hold what the producer wrote");
        }
        checked += 1;
    }
    unlink(mine).map_err(|_| "unlink")?;
    cap_delete(mine).map_err(|_| "delete")?;
    Ok(checked)
}
