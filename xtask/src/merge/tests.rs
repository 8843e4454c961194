//! Host tests of the console/log merger: the pieces it gives for each
//! arrival, and, on a model of a terminal, that no line of either stream is
//! ever split, where writing each piece as it comes (what `cargo xtask qemu`
//! did before) splits them.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn console(text: &str) -> Piece {
    Piece::Console(text.as_bytes().to_vec())
}

fn log(text: &str) -> Piece {
    Piece::Log(text.to_string())
}

#[test]
fn whole_lines_pass_at_once() {
    let t = Instant::now();
    let mut m = Merger::new(HOLD, false);
    assert_eq!(
        m.console(b"core 0 online\r\ncore 1 online\r\n", t),
        [console("core 0 online\r\n"), console("core 1 online\r\n")]
    );
    assert_eq!(
        m.log("[0.1 core 0] INFO  x".into(), t),
        [log("[0.1 core 0] INFO  x")]
    );
    assert_eq!(m.deadline(), None);
    assert_eq!(m.finish(), []);
}

/// The issue's example: `core 0 onli[0.020628 core 0] INFO  boot phases
/// ...` / `ne`. The log line goes before the held half line.
#[test]
fn a_partial_line_is_held_across_a_log_line() {
    let t = Instant::now();
    let mut m = Merger::new(HOLD, false);
    assert_eq!(m.console(b"core 0 onli", t), []);
    assert_eq!(m.deadline(), Some(t + HOLD));
    assert_eq!(
        m.log("[0.020628 core 0] INFO  boot phases".into(), t + ms(5)),
        [log("[0.020628 core 0] INFO  boot phases")]
    );
    assert_eq!(
        m.console(b"ne\r\ncore 1 on", t + ms(10)),
        [console("core 0 online\r\n")]
    );
    // The next line's hold starts with its own first byte.
    assert_eq!(m.deadline(), Some(t + ms(10) + HOLD));
    assert_eq!(
        m.console(b"line\n", t + ms(20)),
        [console("core 1 online\n")]
    );
}

/// A prompt (no newline) is shown after the hold; what follows on its line
/// (the typed echo) passes at once; its newline ends it.
#[test]
fn the_timeout_flushes_a_partial_line() {
    let t = Instant::now();
    let mut m = Merger::new(HOLD, false);
    assert_eq!(m.console(b"login: ", t), []);
    assert_eq!(m.tick(t + HOLD - ms(1)), []);
    assert_eq!(m.tick(t + HOLD), [console("login: ")]);
    assert_eq!(m.deadline(), None);
    assert_eq!(m.tick(t + ms(1000)), []);
    assert_eq!(m.console(b"r", t + ms(1001)), [console("r")]);
    assert_eq!(m.console(b"oot\r\n$ ", t + ms(1002)), [console("oot\r\n")]);
    assert_eq!(m.deadline(), Some(t + ms(1002) + HOLD));
}

/// A log line arriving after the hold ran out, before the tick: the log
/// line first, then the held line.
#[test]
fn a_late_tick_puts_the_log_line_first() {
    let t = Instant::now();
    let mut m = Merger::new(HOLD, true);
    assert_eq!(m.console(b"(qemu) ", t), []);
    assert_eq!(
        m.log("late".into(), t + ms(500)),
        [log("late"), console("(qemu) ")]
    );
}

/// On a terminal, a log line meets a shown unfinished line: erased,
/// the log line, the shown part again.
#[test]
fn on_a_terminal_a_shown_line_is_redrawn_below_a_log_line() {
    let t = Instant::now();
    let mut m = Merger::new(HOLD, true);
    m.console(b"> ", t);
    assert_eq!(m.tick(t + HOLD), [console("> ")]);
    assert_eq!(m.console(b"he", t + ms(200)), [console("he")]);
    assert_eq!(
        m.log("INFO tick".into(), t + ms(300)),
        [Piece::Erase, log("INFO tick"), console("> he")]
    );
    assert_eq!(m.console(b"llo\n", t + ms(400)), [console("llo\n")]);
}

/// Not a terminal: nothing can be erased, so a log line waits for the
/// shown line to end (or for the end of both streams).
#[test]
fn off_a_terminal_a_log_line_waits_for_the_shown_line() {
    let t = Instant::now();
    let mut m = Merger::new(HOLD, false);
    m.console(b"> ", t);
    m.tick(t + HOLD);
    assert_eq!(m.log("first".into(), t + ms(200)), []);
    assert_eq!(m.log("second".into(), t + ms(210)), []);
    assert_eq!(
        m.console(b"typed\nnext", t + ms(300)),
        [console("typed\n"), log("first"), log("second")]
    );
    assert_eq!(m.finish(), [console("next")]);

    let mut m = Merger::new(HOLD, false);
    m.console(b"> ", t);
    m.tick(t + HOLD);
    m.log("waiting".into(), t + ms(200));
    m.console(b"x", t + ms(250));
    assert_eq!(m.finish(), [console("\n"), log("waiting")]);
}

#[test]
fn the_screen_writes_console_and_log_apart() {
    let mut screen = Screen {
        console: Vec::new(),
        log: Vec::new(),
        crlf: true,
    };
    screen
        .write(vec![console("a"), Piece::Erase, log("L"), console("a\n")])
        .expect("writes");
    assert_eq!(screen.console, b"a\r\x1b[Ka\n");
    assert_eq!(screen.log, b"L\r\n");
}

/// A terminal seen as finished lines: console bytes and log lines are
/// written at the cursor; `Erase` clears the cursor's line.
#[derive(Default)]
struct Terminal {
    lines: Vec<String>,
    current: String,
}

impl Terminal {
    fn put(&mut self, piece: &Piece) {
        match piece {
            Piece::Console(bytes) => {
                for &b in bytes {
                    match b {
                        b'\n' => self.lines.push(std::mem::take(&mut self.current)),
                        b'\r' => {}
                        b => self.current.push(b as char),
                    }
                }
            }
            Piece::Log(line) => {
                self.current.push_str(line);
                self.lines.push(std::mem::take(&mut self.current));
            }
            Piece::Erase => self.current.clear(),
        }
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// A boot's console in random pieces, log lines between random pieces and
/// random gaps: returns the screen, merged or written as it came.
fn simulate(seed: u64, merged: bool, redraw: bool) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut rng = Rng(seed | 1);
    let console_lines: Vec<String> = (0..40)
        .map(|i| format!("core {} online, line {i}", i % 4))
        .collect();
    let log_lines: Vec<String> = (0..40)
        .map(|i| format!("[0.{i:06} core {}] INFO  boot phases {i}", i % 4))
        .collect();
    let text: Vec<u8> = console_lines
        .iter()
        .flat_map(|l| format!("{l}\r\n").into_bytes())
        .collect();
    let mut term = Terminal::default();
    let mut m = Merger::new(HOLD, redraw);
    let mut now = Instant::now();
    let (mut at, mut logs) = (0, log_lines.iter());
    while at < text.len() {
        let n = (1 + rng.below(12) as usize).min(text.len() - at);
        let chunk = &text[at..at + n];
        at += n;
        now += ms(rng.below(200));
        let pieces = if merged {
            let mut p = m.tick(now);
            p.extend(m.console(chunk, now));
            p
        } else {
            vec![Piece::Console(chunk.to_vec())]
        };
        pieces.iter().for_each(|p| term.put(p));
        if rng.below(3) == 0 {
            if let Some(line) = logs.next() {
                let pieces = if merged {
                    m.log(line.clone(), now)
                } else {
                    vec![Piece::Log(line.clone())]
                };
                pieces.iter().for_each(|p| term.put(p));
            }
        }
    }
    for line in logs {
        m.log(line.clone(), now).iter().for_each(|p| term.put(p));
    }
    m.finish().iter().for_each(|p| term.put(p));
    (term.lines, console_lines, log_lines)
}

/// Every line on screen is one whole line of one stream, and every line
/// of both streams is there once.
fn whole(screen: &[String], console: &[String], log: &[String]) -> Result<(), String> {
    for line in screen {
        if !console.contains(line) && !log.contains(line) {
            return Err(format!("split line on screen: {line:?}"));
        }
    }
    for line in console.iter().chain(log) {
        let n = screen.iter().filter(|l| *l == line).count();
        if n != 1 {
            return Err(format!("{line:?} on screen {n} times"));
        }
    }
    Ok(())
}

#[test]
fn no_line_of_either_stream_is_ever_split() {
    for seed in 0..200 {
        for redraw in [false, true] {
            let (screen, console, log) = simulate(seed, true, redraw);
            whole(&screen, &console, &log)
                .unwrap_or_else(|e| panic!("seed {seed}, redraw {redraw}: {e}"));
        }
    }
}

/// The same arrivals written as they come, as `cargo xtask qemu` did:
/// lines are split (so the check above can fail).
#[test]
fn writing_as_it_comes_splits_lines() {
    let split = (0..200)
        .filter(|&seed| {
            let (screen, console, log) = simulate(seed, false, false);
            whole(&screen, &console, &log).is_err()
        })
        .count();
    assert!(split > 150, "only {split} of 200 runs split a line");
}

/// One screen both streams write to.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The loop on a channel: a held half line, a log line, the rest; a
/// prompt flushed by the timeout, a log line waiting for its end;
/// everything out when the senders go.
#[test]
fn the_loop_merges_what_arrives() {
    let (tx, rx) = std::sync::mpsc::channel();
    let shared = Shared::default();
    let mut screen = Screen {
        console: shared.clone(),
        log: shared.clone(),
        crlf: false,
    };
    let writer = std::thread::spawn(move || run(rx, Merger::new(ms(50), false), &mut screen));
    let send = |input| tx.send(input).expect("loop running");
    send(Input::Console(b"core 0 onli".to_vec()));
    send(Input::Log("INFO boot".into()));
    send(Input::Console(b"ne\nprompt> ".to_vec()));
    std::thread::sleep(ms(300));
    assert!(String::from_utf8_lossy(&shared.0.lock().unwrap()).ends_with("prompt> "));
    send(Input::Log("INFO later".into()));
    send(Input::Console(b"typed\nlast".to_vec()));
    drop(tx);
    writer.join().expect("loop ends");
    assert_eq!(
        String::from_utf8_lossy(&shared.0.lock().unwrap()),
        "INFO boot\ncore 0 online\nprompt> typed\nINFO later\nlast"
    );
}
