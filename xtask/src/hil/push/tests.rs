//! The host side of the protocol against a fake board on a pty pair that
//! runs the loader's own state machine (`chainload::Receiver`) and line
//! writers: transfers, NAK and retry, refusals, and what a silent or
//! garbled line is reported as. No QEMU needed.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chainload::{Event, Limits, Receiver};
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::pty::PtyMaster;

use super::*;
use crate::hil::selftest::{misframe, pty_pair};

/// A loader on the master end: announces READY every 50 ms while idle,
/// answers as the real one does, returns the payload it booted.
fn fake_board(mut master: PtyMaster, limits: Limits, stop: Arc<AtomicBool>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut rx = Receiver::new(limits);
        let mut mem = vec![0u8; 1 << 20];
        let mut last_ready = Instant::now() - Duration::from_secs(1);
        let say = |master: &mut PtyMaster, f: &dyn Fn(&mut String)| {
            let mut line = String::new();
            f(&mut line);
            master.write_all(line.as_bytes()).expect("board writes");
        };
        while !stop.load(Ordering::Relaxed) {
            if !rx.busy() && last_ready.elapsed() >= Duration::from_millis(50) {
                say(&mut master, &|l| chainload::write_ready(l).unwrap());
                last_ready = Instant::now();
            }
            let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
            if nix::poll::poll(&mut fds, PollTimeout::from(10u16)).unwrap_or(0) == 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            let n = master.read(&mut buf).unwrap_or(0);
            for &b in &buf[..n] {
                match rx.feed(b) {
                    Event::Nothing => {}
                    Event::Go(h) => say(&mut master, &|l| chainload::write_go(l, h.size).unwrap()),
                    Event::Reject(nak) => {
                        say(&mut master, &|l| chainload::write_nak(l, &nak).unwrap())
                    }
                    Event::Store(o) => mem[o as usize] = b,
                    Event::Last(o, verdict) => {
                        mem[o as usize] = b;
                        match verdict {
                            Ok(crc) => {
                                say(&mut master, &|l| chainload::write_ok(l, crc).unwrap());
                                mem.truncate(o as usize + 1);
                                // Keep the master open until the host is done:
                                // closing it would hang up the line under it.
                                while !stop.load(Ordering::Relaxed) {
                                    std::thread::sleep(Duration::from_millis(5));
                                }
                                return mem;
                            }
                            Err(nak) => {
                                say(&mut master, &|l| chainload::write_nak(l, &nak).unwrap())
                            }
                        }
                    }
                }
            }
        }
        Vec::new()
    })
}

fn image(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn run_push(limits: Limits, payload: &[u8], corrupt: bool) -> (Result<Pushed>, Vec<u8>) {
    let (master, path) = pty_pair().expect("pty");
    let port = Port::open(&path, 115_200).expect("open pty");
    let stop = Arc::new(AtomicBool::new(false));
    let board = fake_board(master, limits, stop.clone());
    let mut reader = LineReader::new(&port);
    let result = push(
        &mut reader,
        payload,
        115_200,
        Duration::from_secs(5),
        corrupt,
    );
    stop.store(true, Ordering::Relaxed);
    (result, board.join().expect("board thread"))
}

#[test]
fn a_clean_transfer_boots_the_exact_bytes() {
    let payload = image(20_000);
    let (result, booted) = run_push(Limits::new(None), &payload, false);
    let pushed = result.expect("push");
    assert_eq!(pushed.attempts, 1);
    assert!(pushed.naks.is_empty());
    assert_eq!(booted, payload);
}

#[test]
fn a_flipped_byte_is_nakked_and_retried() {
    let payload = image(5_000);
    let (result, booted) = run_push(Limits::new(None), &payload, true);
    let pushed = result.expect("push");
    assert_eq!(pushed.attempts, 2, "{pushed:?}");
    assert!(pushed.naks[0].starts_with("bad-crc got 0x"), "{pushed:?}");
    assert_eq!(booted, payload);
}

#[test]
fn a_refused_size_is_not_retried() {
    let limits = Limits {
        max: 100,
        dtb: None,
    };
    let (result, _) = run_push(limits, &image(200), false);
    let err = format!("{:#}", result.expect_err("refused"));
    assert!(
        err.contains("refused the image (200 bytes): too-large 200 bytes > max 100"),
        "{err}"
    );
}

#[test]
fn a_kernel_over_the_dtb_is_refused() {
    // The payload would run from 0x80000 into a DTB placed at 0x80100.
    let limits = Limits {
        max: 1 << 20,
        dtb: Some((0x8_0100, 0x1000)),
    };
    let (result, _) = run_push(limits, &image(0x200), false);
    let err = format!("{:#}", result.expect_err("refused"));
    assert!(
        err.contains("overlaps-dtb image ends at 0x80200, DTB at 0x80100"),
        "{err}"
    );
}

#[test]
fn what_the_host_heard_is_classified() {
    let mut text = Heard::default();
    text.add(b"core 0 online\r\nall 4 cores online\r\n");
    assert!(!text.is_garbage());
    assert_eq!(text.last_text, "all 4 cores online");

    let talk = b"kml-chainloader v1: EL2\r\nKML:READY\r\nKML:READY\r\nKML:READY\r\n";
    for (tx, rx) in [
        (57_600, 115_200),
        (921_600, 115_200),
        (9_600, 115_200),
        (115_200, 460_800),
    ] {
        let mut heard = Heard::default();
        heard.add(&misframe(talk, tx, rx));
        assert!(
            heard.bytes > 0 && heard.is_garbage(),
            "{tx} sent, {rx} read: {heard:?}"
        );
    }
    let mut clean = Heard::default();
    clean.add(&misframe(talk, 115_200, 115_200));
    assert!(!clean.is_garbage());
}

#[test]
fn a_text_talking_board_is_not_called_a_wrong_baud_rate() {
    let (mut master, path) = pty_pair().expect("pty");
    let port = Port::open(&path, 115_200).expect("open");
    master
        .write_all(b"core 0 online\r\nexit status 0\r\n")
        .expect("write");
    let mut reader = LineReader::new(&port);
    let err = format!(
        "{:#}",
        wait_ready(&mut reader, 115_200, Duration::from_millis(500)).unwrap_err()
    );
    assert!(err.contains("received 30 bytes of text"), "{err}");
    assert!(err.contains("\"exit status 0\""), "{err}");
    assert!(err.contains("--chainloader"), "{err}");
}

#[test]
fn the_ready_token_is_found_in_noise() {
    let (mut master, path) = pty_pair().expect("pty");
    let port = Port::open(&path, 115_200).expect("open");
    master
        .write_all(b"\x00\xff\x00KML:READY\r\nafter")
        .expect("write");
    let mut reader = LineReader::new(&port);
    wait_ready(&mut reader, 115_200, Duration::from_secs(2)).expect("ready");
    // What follows the token stays for the next reader.
    reader.fill(Duration::from_millis(200)).expect("fill");
    assert_eq!(reader.take(), b"after");
}

#[test]
fn hil_arguments_are_checked_before_anything_runs() {
    use crate::hil::{validate, HilArgs};
    let args = |board: Option<&str>, baud: u32, tests: &[&str]| HilArgs {
        board: board.map(String::from),
        serial: "/dev/null".into(),
        baud,
        log_serial: None,
        wait: 30,
        tests: tests.iter().map(|s| s.to_string()).collect(),
        corrupt_first_transfer: false,
    };
    let all = validate(&args(None, 115_200, &[])).expect("defaults");
    assert!(all.iter().all(|c| c.board == "rpi4") && all.len() >= 2);
    assert_eq!(
        validate(&args(None, 115_200, &["panic"]))
            .expect("panic")
            .len(),
        1
    );
    let e = validate(&args(Some("virt"), 115_200, &[])).unwrap_err();
    assert!(e.0.contains("rpi4 only"), "{e}");
    let e = validate(&args(None, 12_345, &[])).unwrap_err();
    assert!(e.0.starts_with("--baud 12345"), "{e}");
    let e = validate(&args(None, 115_200, &["nosuch"])).unwrap_err();
    assert!(
        e.0.contains("no rpi4 test case matches nosuch") && e.0.contains("boot-rpi4"),
        "{e}"
    );
}

#[test]
fn log_frames_are_taken_out_of_the_console_line() {
    use crate::hil::push::split_frames;
    // Text, a whole frame (whose bytes include a newline), text, and the
    // start of a frame not yet finished.
    let mut buf = b"core 0 online\r\n".to_vec();
    buf.extend_from_slice(&[0x1b, b'D', 0x05, b'\n', 0x07, 0x00]);
    buf.extend_from_slice(b"all 4 cores online\r\n");
    buf.extend_from_slice(&[0x1b, b'D', 0x09, b'\n']);
    let frames = split_frames(&mut buf);
    assert_eq!(frames, [0x05, b'\n', 0x07, 0x00]);
    let mut rest = b"core 0 online\r\nall 4 cores online\r\n".to_vec();
    rest.extend_from_slice(&[0x1b, b'D', 0x09, b'\n']);
    assert_eq!(buf, rest);
    // The unfinished frame completes later.
    buf.extend_from_slice(&[0x00]);
    assert_eq!(split_frames(&mut buf), [0x09, b'\n', 0x00]);
    // defmt's very first frame starts with a resynchronising zero.
    let mut first = vec![0x1b, b'D', 0x00, 0x03, 0x41, 0x00, b'x'];
    assert_eq!(split_frames(&mut first), [0x03, 0x41, 0x00]);
    assert_eq!(first, b"x");
}

/// A frame sent in the middle of a console line (one core logging while
/// another prints), whole or still arriving: the console line comes out
/// whole and the frame apart, however the bytes were split into reads, so
/// the checkers never see a line the log cut in two.
#[test]
fn a_frame_inside_a_console_line_leaves_the_line_whole() {
    use crate::hil::push::split_frames;
    let mut stream = b"core 0 onli".to_vec();
    stream.extend_from_slice(&[0x1b, b'D', 0x05, b'\n', 0x07, 0x00]);
    stream.extend_from_slice(b"ne\r\n");
    for cut in 0..=stream.len() {
        let mut buf = stream[..cut].to_vec();
        let mut frames = split_frames(&mut buf);
        buf.extend_from_slice(&stream[cut..]);
        frames.extend(split_frames(&mut buf));
        assert_eq!(buf, b"core 0 online\r\n", "cut at {cut}");
        assert_eq!(frames, [0x05, b'\n', 0x07, 0x00], "cut at {cut}");
    }
}
