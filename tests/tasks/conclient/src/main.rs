//! Prints `LINES` numbered lines through the console server (client index
//! = this task's core), pipelined up to the ring's credit, then says done.
//! The test (tests/src/lib.rs `console_line`) knows every line's text.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use core::fmt::Write;

ulib::entry!(main);

const LINES: usize = 100;

fn line(client: usize, i: usize, out: &mut ulib::Line) {
    let _ = write!(out, "conclient {client}: line {i:03}/{LINES:03} ");
    for k in 0..40 {
        let _ = out.write_char((b'a' + ((client * 7 + i * 3 + k) % 26) as u8) as char);
    }
}

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    let mut con = match Console::connect(me) {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("conclient {}: FAIL connect: {:?}", me, e);
            return 1;
        }
    };
    for i in 0..LINES {
        let mut l = ulib::Line::new();
        line(me, i, &mut l);
        loop {
            match con.write_line(l.as_str()) {
                Ok(()) => break,
                // The server restarted: the lines in flight are lost (the
                // client has connected to the new instance); go on.
                // Said through the new instance: a kernel line could land
                // inside another client's.
                Err(console_api::Error::Restarted) => {
                    let mut n = ulib::Line::new();
                    let _ = write!(
                        n,
                        "conclient {me}: the console server restarted: lines in flight lost, connected again"
                    );
                    let _ = con.write_line(n.as_str());
                }
                Err(e) => {
                    ulib::println!("conclient {}: FAIL line {}: {:?}", me, i, e);
                    return 1;
                }
            }
        }
    }
    // Images with a hostile client wait for every good client to be
    // quiet before the hostile one dies (so the kernel's fault report does
    // not land in the middle of a line); a notification in root slot 2,
    // if granted, carries that.
    con.flush().ok();
    let _ = ulib::cap::signal(ulib::CPtr::root(2), 1 << me);
    loop {
        match con.done() {
            Ok(()) => return 0,
            Err(console_api::Error::Restarted) => continue,
            Err(e) => {
                ulib::println!("conclient {}: FAIL done: {:?}", me, e);
                return 1;
            }
        }
    }
}
