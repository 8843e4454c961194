//! Console input end to end: as client 0 (the client that has the
//! console) prints `coninput: ready for input`, reads UART input through
//! the console server until a whole line has come (ended by `\r` or `\n`),
//! prints `coninput: got "<line>"` and says done. The test harness types
//! the line once it sees the prompt (tests/src/cases.rs `console-input-*`).
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use console_api::client::Console;
use core::fmt::Write;

ulib::entry!(main);

/// The longest line kept (longer input is cut there).
const MAX: usize = 128;

fn main(_start: ulib::Start) -> i32 {
    let mut con = match Console::connect(0) {
        Ok(c) => c,
        Err(e) => {
            ulib::println!("coninput: FAIL connect: {:?}", e);
            return 1;
        }
    };
    if let Err(e) = con.write_line_sync("coninput: ready for input") {
        ulib::println!("coninput: FAIL prompt: {:?}", e);
        return 1;
    }
    let mut line = [0u8; MAX];
    let mut len = 0;
    let mut reads = 0u32;
    'line: loop {
        let mut chunk = [0u8; 64];
        let n = match con.read(&mut chunk) {
            Ok(n) => n,
            Err(e) => {
                let mut l = ulib::Line::new();
                let _ = write!(l, "coninput: FAIL read: {e:?}");
                let _ = con.write_line_sync(l.as_str());
                return 1;
            }
        };
        reads += 1;
        for &b in &chunk[..n] {
            if b == b'\r' || b == b'\n' {
                break 'line;
            }
            if len < MAX {
                line[len] = b;
                len += 1;
            }
        }
    }
    let text = core::str::from_utf8(&line[..len]).unwrap_or("<not UTF-8>");
    let mut l = ulib::Line::new();
    let _ = write!(l, "coninput: got \"{text}\" ({len} bytes in {reads} reads)");
    if let Err(e) = con.write_line_sync(l.as_str()) {
        ulib::println!("coninput: FAIL print: {:?}", e);
        return 1;
    }
    match con.done() {
        Ok(()) => 0,
        Err(e) => {
            ulib::println!("coninput: FAIL done: {:?}", e);
            1
        }
    }
}
