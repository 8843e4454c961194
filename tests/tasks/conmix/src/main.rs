//! Prints `LINES` numbered lines (named by its index among the console's
//! clients), the even ones through the console server
//! (its ring) and the odd ones through the kernel (`DebugPrint`), so that
//! with one of these on each of many cores both writers of the console
//! UART are busy at once. The test (tests/src/lib.rs `mix_line`) knows
//! every line's text and finds each whole, exactly once.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use core::fmt::Write;

ulib::entry!(main);

const LINES: usize = 60;

fn line(client: usize, i: usize, out: &mut ulib::Line) {
    let path = if i.is_multiple_of(2) { "srv" } else { "dbg" };
    let _ = write!(out, "conmix {client}: {path} line {i:03}/{LINES:03} ");
    for k in 0..40 {
        let _ = out.write_char((b'a' + ((client * 11 + i * 5 + k) % 26) as u8) as char);
    }
}

fn main(_start: ulib::Start) -> i32 {
    let me = Console::index().unwrap_or(0);
    let mut con = match Console::connect() {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("conmix {}: FAIL connect: {:?}", me, e);
            return 1;
        }
    };
    for i in 0..LINES {
        let mut l = ulib::Line::new();
        line(me, i, &mut l);
        if !i.is_multiple_of(2) {
            ulib::println!("{}", l.as_str());
            continue;
        }
        if let Err(e) = con.write_line(l.as_str()) {
            ulib::println!("conmix {}: FAIL line {}: {:?}", me, i, e);
            return 1;
        }
    }
    if let Err(e) = con.flush().and_then(|()| con.done()) {
        ulib::println!("conmix {}: FAIL done: {:?}", me, e);
        return 1;
    }
    0
}
