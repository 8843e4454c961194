//! Never ends: a task that hangs a run. Only the run's time limit (`cargo
//! xtask qemu --timeout S`, which every test sets) ends it, with a report
//! naming this task on its core.
//!
//! Without a console connection it spins at EL0, never making a system
//! call. With one (`uses = ["console"]`) it prints numbered lines through
//! the console server without end ([`line`]: the test knows each line's
//! text), so the server is writing the UART when the time limit's report
//! comes: the report must not land inside one of its lines
//! (docs/console.md, *Panics*).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use console_api::Error;
use core::fmt::Write;

ulib::entry!(main);

/// Line `i` of the stream (tests/src/lib.rs `forever_line` is the same).
fn line(i: u64, out: &mut ulib::Line) {
    let _ = write!(out, "forever: line {i:06} ");
    for k in 0..40 {
        let _ = out.write_char((b'a' + ((i * 7 + k) % 26) as u8) as char);
    }
}

fn main(_start: ulib::Start) -> i32 {
    if Console::index().is_some() {
        let e = stream();
        ulib::println!("forever: FAIL: the console stream stopped: {:?}", e);
        return 1;
    }
    let mut n = 0u64;
    loop {
        n = core::hint::black_box(n.wrapping_add(1));
    }
}

/// Prints lines through the console server until an error.
fn stream() -> Error {
    let mut con = match Console::connect() {
        Ok(c) => c,
        Err(e) => return e,
    };
    let mut i = 0u64;
    loop {
        let mut l = ulib::Line::new();
        line(i, &mut l);
        if let Err(e) = con.write_line(l.as_str()) {
            return e;
        }
        i = i.wrapping_add(1);
    }
}
