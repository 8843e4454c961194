//! Prints `LINES` numbered lines through the console server (named by
//! this task's core), pipelined up to the ring's credit, then says done.
//! The test (tests/src/lib.rs `console_line`) knows every line's text.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use core::fmt::Write;

ulib::entry!(main);

ulib::bind! {
    /// The good clients say they are quiet here (`as = "quiet"`).
    static QUIET: Slot = "quiet";
}

const LINES: usize = 100;

ulib::bind! {
    /// Granted to one good client of an image whose hostile or dying client
    /// is restarted: it waits here until the restarted client is connected
    /// again, so the server (which ends when every client is done or gone)
    /// is still there for it.
    static BACK: Slot = "back";
}

/// Waits for the restarted client's signal on `back`, if this task has it.
fn wait_back() {
    if let Some(back) = BACK.get() {
        let _ = ulib::cap::wait_all(back, 1);
    }
}

fn line(client: usize, i: usize, out: &mut ulib::Line) {
    let _ = write!(out, "conclient {client}: line {i:03}/{LINES:03} ");
    for k in 0..40 {
        let _ = out.write_char((b'a' + ((client * 7 + i * 3 + k) % 26) as u8) as char);
    }
}

fn main(start: ulib::Start) -> i32 {
    let me = start.core;
    let mut con = match Console::connect() {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("conclient {}: FAIL connect: {:?}", me, e);
            return 1;
        }
    };
    // Whether this client has said that the server restarted.
    let mut told = false;
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
                Err(console_api::Error::Restarted) => say_restarted(&mut con, me, &mut told),
                Err(e) => {
                    ulib::println!("conclient {}: FAIL line {}: {:?}", me, i, e);
                    return 1;
                }
            }
        }
    }
    // Images with a hostile client wait for every good client to be
    // quiet before the hostile one dies (so the kernel's fault report does
    // not land in the middle of a line); the notification `quiet`, if
    // granted, carries that.
    if let Err(console_api::Error::Restarted) = con.flush() {
        say_restarted(&mut con, me, &mut told);
    }
    if let Some(quiet) = QUIET.get() {
        let _ = ulib::cap::signal(quiet, 1 << me);
    }
    wait_back();
    loop {
        match con.done() {
            Ok(()) => return 0,
            // A client that finished its lines before the restart lost
            // its `Done` (the restart test's other client may have started
            // late): it says so as well, and says done again.
            Err(console_api::Error::Restarted) => say_restarted(&mut con, me, &mut told),
            Err(e) => {
                ulib::println!("conclient {}: FAIL done: {:?}", me, e);
                return 1;
            }
        }
    }
}

/// Says (once, through the new server instance: a kernel line could land
/// inside another client's) that the console server restarted and what
/// was in flight is lost.
fn say_restarted(con: &mut Console, me: usize, told: &mut bool) {
    if core::mem::replace(told, true) {
        return;
    }
    let mut n = ulib::Line::new();
    let _ = write!(
        n,
        "conclient {me}: the console server restarted: lines in flight lost, connected again"
    );
    let _ = con.write_line(n.as_str());
}
