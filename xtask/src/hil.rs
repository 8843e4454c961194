//! `cargo xtask hil`: the rpi4 test cases of `qemu-tests`, run on a real
//! Raspberry Pi 4 through the serial chainloader. For each case: wait for
//! the loader, push the case's `kernel8.img` (retrying on NAKs), capture the
//! console until `exit status N` (or the case's timeout), take the defmt log
//! if a second serial line carries it, judge with the case's own checker.
//! The kernel ends every chainloaded run with a watchdog reboot, which brings
//! the loader back for the next case.

pub mod push;
pub mod selftest;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use defmt_decoder::{DecodeError, Table};
use qemu_tests::{check, Case, Exit, LogLine, Outcome, CASES};

use crate::build::{self, Built};
use crate::cli::{Board, UsageError};
use crate::hil::push::{push, LineReader, Refused};
use crate::serial::{Collector, Port, BAUD_RATES};

#[derive(Debug, Args)]
pub struct HilArgs {
    /// Board: rpi4 (the only one with a chainloader) [default: rpi4].
    #[arg(long, value_name = "BOARD")]
    pub board: Option<String>,
    /// The serial line to the board's UART0 (GPIO 14/15), e.g. /dev/ttyUSB0.
    #[arg(long, value_name = "PATH")]
    pub serial: PathBuf,
    /// Line speed of the chainloader (as flashed; the kernel always uses 115200).
    #[arg(long, value_name = "N", default_value_t = chainload::DEFAULT_BAUD)]
    pub baud: u32,
    /// A second serial line carrying the mini UART (defmt log), if wired.
    #[arg(long, value_name = "PATH")]
    pub log_serial: Option<PathBuf>,
    /// Seconds to wait for the chainloader, at the start and after each reboot.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait: u64,
    /// Run only the rpi4 cases whose name contains one of these.
    #[arg(value_name = "TEST")]
    pub tests: Vec<String>,
    /// Test only: flip a byte of each case's first transfer.
    #[arg(long, hide = true)]
    pub corrupt_first_transfer: bool,
}

/// How to reach the board.
pub struct Link {
    pub serial: PathBuf,
    pub baud: u32,
    pub log_serial: Option<PathBuf>,
    pub wait: Duration,
}

/// One case to run, with its built image and the name it is reported as.
pub struct HilCase<'a> {
    pub label: String,
    pub case: &'static Case,
    pub built: &'a Built,
    /// Flip a byte of the first transfer (test only: must be NAKed, retried).
    pub corrupt_first: bool,
}

/// How one case went.
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub passed: bool,
    /// The loader's NAK reasons before the transfer that worked.
    pub naks: Vec<String>,
}

/// The rpi4 cases selected by `filters` (all of them when empty).
pub fn select(filters: &[String]) -> Result<Vec<&'static Case>, UsageError> {
    let rpi4: Vec<&Case> = CASES.iter().filter(|c| c.board == "rpi4").collect();
    let chosen: Vec<&Case> = rpi4
        .iter()
        .copied()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.name.contains(f.as_str())))
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = rpi4.iter().map(|c| c.name).collect();
        return Err(UsageError(format!(
            "hil: no rpi4 test case matches {} (rpi4 cases: {})",
            filters.join(" "),
            names.join(", ")
        )));
    }
    Ok(chosen)
}

/// Checks the arguments (before anything is built or opened).
pub fn validate(args: &HilArgs) -> Result<Vec<&'static Case>, UsageError> {
    if let Some(b) = args.board.as_deref().filter(|b| *b != "rpi4") {
        return Err(UsageError(format!(
            "--board {b}: hil runs on rpi4 only (virt has no serial chainloader)"
        )));
    }
    if !BAUD_RATES.contains(&args.baud) {
        return Err(UsageError(format!(
            "--baud {}: not a standard serial rate (e.g. 115200, 230400, 460800, 921600)",
            args.baud
        )));
    }
    if args.wait == 0 {
        return Err(UsageError(
            "--wait 0: give the board at least a second".into(),
        ));
    }
    select(&args.tests)
}

pub fn run(root: &Path, args: &HilArgs) -> Result<ExitCode> {
    let cases = validate(args)?;
    let link = Link {
        serial: args.serial.clone(),
        baud: args.baud,
        log_serial: args.log_serial.clone(),
        wait: Duration::from_secs(args.wait),
    };
    // The serial lines before anything is built: a port that is missing,
    // not ours to open or not a terminal is one line, not a minute of
    // building first.
    let lines = Lines::open(&link)?;
    let mut builds: Vec<(&str, Built)> = Vec::new();
    for case in &cases {
        if !builds.iter().any(|(name, _)| *name == case.image) {
            let image = crate::image::select(root, case.image, Board::Rpi4)?;
            builds.push((case.image, build::build(root, &image, Board::Rpi4)?));
        }
    }
    let runs: Vec<HilCase<'_>> = cases
        .iter()
        .map(|case| HilCase {
            label: case.name.to_string(),
            case,
            built: &builds
                .iter()
                .find(|(n, _)| *n == case.image)
                .expect("built")
                .1,
            corrupt_first: args.corrupt_first_transfer,
        })
        .collect();
    let results = session_on(lines, &link, &runs)?;
    let passed = results.iter().filter(|v| v.passed).count();
    println!();
    println!("{passed} passed, {} failed", results.len() - passed);
    Ok(if passed == results.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The serial lines of a session, open (raw mode, at their speeds).
pub struct Lines {
    port: Port,
    log: Option<Port>,
}

impl Lines {
    /// Opens the console line and, if given, the log line; the error names
    /// the path and the likely fix.
    pub fn open(link: &Link) -> Result<Lines> {
        let port = Port::open(&link.serial, link.baud)?;
        let log = match &link.log_serial {
            Some(path) => Some(Port::open(path, chainload::KERNEL_BAUD)?),
            None => None,
        };
        Ok(Lines { port, log })
    }
}

/// Runs `runs` in order on the board behind `link`; one verdict each.
/// Opening the serial lines is the only error; everything after that is a
/// failed case (and, if the board stops answering, the rest fail unrun).
pub fn session(link: &Link, runs: &[HilCase<'_>]) -> Result<Vec<Verdict>> {
    session_on(Lines::open(link)?, link, runs)
}

/// [`session`] on lines already open.
fn session_on(lines: Lines, link: &Link, runs: &[HilCase<'_>]) -> Result<Vec<Verdict>> {
    let Lines { port, log } = lines;
    // What arrived while the images were built is stale.
    port.discard_input()?;
    let log = log.map(|log| {
        let _ = log.discard_input();
        Collector::start(log)
    });
    println!(
        "hil: {} case(s) on {} at {} baud{}",
        runs.len(),
        link.serial.display(),
        link.baud,
        match &link.log_serial {
            Some(p) => format!(", defmt log from {}", p.display()),
            None => ", defmt log on the console line".into(),
        }
    );
    let mut reader = LineReader::new(&port);
    let mut results = Vec::new();
    let mut stopped: Option<String> = None;
    let mut previous: Option<&str> = None;
    for run in runs {
        print!("test {} ... ", run.label);
        let _ = std::io::stdout().flush();
        if let Some(why) = &stopped {
            println!("FAILED (not run: {why})");
            results.push(Verdict::default());
            continue;
        }
        match one(link, &mut reader, log.as_ref(), run, previous) {
            Ok(verdict) => results.push(verdict),
            Err(e) => {
                println!("FAILED ({e:#})");
                // A refused image leaves the loader waiting; anything else
                // means the board is not answering.
                if e.downcast_ref::<Refused>().is_none() {
                    stopped = Some("the board stopped answering".into());
                }
                results.push(Verdict::default());
            }
        }
        // The speed may have been switched to the kernel's for the capture.
        if link.baud != chainload::KERNEL_BAUD {
            let _ = port.set_baud(link.baud);
        }
        previous = Some(&run.label);
    }
    Ok(results)
}

/// One case: push, capture, judge. `Err` means the link failed.
fn one(
    link: &Link,
    reader: &mut LineReader<'_>,
    log: Option<&Collector>,
    run: &HilCase<'_>,
    previous: Option<&str>,
) -> Result<Verdict> {
    let image =
        std::fs::read(&run.built.raw).with_context(|| run.built.raw.display().to_string())?;
    let pushed = push(reader, &image, link.baud, link.wait, run.corrupt_first).map_err(|e| {
        match previous {
            // No loader after the previous case: it did not reboot.
            Some(p) if e.downcast_ref::<Refused>().is_none() => e.context(format!(
                "waiting for the board to reboot into the chainloader after {p}"
            )),
            _ => e,
        }
    })?;
    if link.baud != chainload::KERNEL_BAUD {
        reader.port.set_baud(chainload::KERNEL_BAUD)?;
    }
    if let Some(log) = log {
        let _ = log.take();
    }
    let start = Instant::now();
    let (console, exit, mut frames) = capture(reader, run.case.timeout)?;
    let run_secs = start.elapsed().as_secs_f64();
    // A chainloaded kernel sends its log frames on the console line; a
    // second line (--log-serial), if wired, carries anything else.
    if let Some(log) = log {
        log.settle(Duration::from_millis(300), Duration::from_secs(2));
        frames.extend(log.take());
    }
    let (lines, bytes, malformed) = decode(&run.built.table, &frames);
    let case = *run.case;
    let outcome = Outcome {
        exit,
        console,
        log: lines,
        log_bytes: bytes,
    };
    let retries = if pushed.naks.is_empty() {
        String::new()
    } else {
        format!(" after NAK {}", pushed.naks.join(", NAK "))
    };
    let timing = format!(
        "push {:.1} MiB in {:.1} s, {} attempt(s){retries}; run {run_secs:.1} s",
        image.len() as f64 / 1048576.0,
        pushed.seconds,
        pushed.attempts
    );
    let passed = match check(&case, &outcome) {
        Ok(()) => {
            println!("ok ({timing})");
            // Benchmark images report here: on a real board their times
            // are the board's own counter (images/corey-rpi4.toml's RESULT
            // lines) and its PMU cycle counter (images/bench.toml's
            // "cycles/op" lines).
            for line in outcome.console.lines().filter(|l| is_bench_line(l)) {
                println!("    {}", line.trim());
            }
            true
        }
        Err(problems) => {
            println!("FAILED ({timing}, {})", outcome.exit);
            report(link, run, &outcome, &problems, malformed);
            false
        }
    };
    Ok(Verdict {
        passed,
        naks: pushed.naks,
    })
}

/// The console until `exit status N` (that line included) or the timeout,
/// and the log frames that came on the same line.
fn capture(reader: &mut LineReader<'_>, timeout: Duration) -> Result<(String, Exit, Vec<u8>)> {
    let start = Instant::now();
    let mut console = String::new();
    let mut frames = Vec::new();
    loop {
        frames.extend(reader.take_frames());
        while let Some(line) = reader.console_line() {
            console.push_str(&line);
            console.push('\n');
            if let Some(code) = exit_status(&line) {
                // The last frames may trail the status line.
                let _ = reader.fill(Duration::from_millis(200));
                frames.extend(reader.take_frames());
                return Ok((console, Exit::Code(code), frames));
            }
            frames.extend(reader.take_frames());
        }
        if start.elapsed() >= timeout {
            console.push_str(&String::from_utf8_lossy(&reader.take()));
            return Ok((console, Exit::Timeout, frames));
        }
        reader.fill(Duration::from_millis(100))?;
    }
}

/// `exit status N` -> N.
pub fn exit_status(line: &str) -> Option<i32> {
    line.trim()
        .strip_prefix("exit status ")?
        .trim()
        .parse()
        .ok()
}

/// Decodes defmt frames: (lines, bytes, malformed frames).
pub fn decode(table: &Table, bytes: &[u8]) -> (Vec<LogLine>, usize, usize) {
    let mut decoder = table.new_stream_decoder();
    decoder.received(bytes);
    let (mut lines, mut malformed) = (Vec::new(), 0);
    loop {
        match decoder.decode() {
            Ok(frame) => lines.push(crate::defmt::log_line(&frame)),
            Err(DecodeError::UnexpectedEof) => break,
            Err(DecodeError::Malformed) => {
                malformed += 1;
                if !table.encoding().can_recover() {
                    break;
                }
            }
        }
    }
    (lines, bytes.len(), malformed)
}

fn report(link: &Link, run: &HilCase<'_>, out: &Outcome, problems: &[String], malformed: usize) {
    for problem in problems {
        println!("    problem: {problem}");
    }
    println!(
        "    reproduce: cargo xtask hil --board rpi4 --serial {} --baud {} {}",
        link.serial.display(),
        link.baud,
        run.case.name
    );
    println!("---- {} console ({}) ----", run.label, out.exit);
    print!("{}", out.console);
    {
        println!(
            "---- {} defmt ({} lines, {} bytes, {malformed} malformed) ----",
            run.label,
            out.log.len(),
            out.log_bytes
        );
        for line in &out.log {
            println!("{line}");
        }
    }
    println!("---- end of {} ----", run.label);
}

/// A console line a benchmark image reports its figures on.
pub fn is_bench_line(line: &str) -> bool {
    line.contains("RESULT ") || line.contains(" cycles/op")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benchmark_lines_are_shown() {
        assert!(is_bench_line(
            "[bench@0] bench null-syscall core 0: 20000 cycles total, loop 80000 cycles; 61 cycles/op"
        ));
        assert!(is_bench_line(
            "[corey@0] RESULT name=memclone mode=private cores=4 ops=16384 ns=1"
        ));
        assert!(!is_bench_line(
            "[bench@0] bench null-syscall core 0: 20000 ops, 1 ns total, loop 1 ns; 0 ns/op"
        ));
    }

    fn args(serial: &Path) -> HilArgs {
        HilArgs {
            board: None,
            serial: serial.to_path_buf(),
            baud: chainload::DEFAULT_BAUD,
            log_serial: None,
            wait: 30,
            tests: Vec::new(),
            corrupt_first_transfer: false,
        }
    }

    /// The error `run` stops with, on a workspace without images: anything
    /// built first would fail on the images instead.
    fn run_error(args: &HilArgs) -> String {
        let root = Path::new("/nonexistent-workspace");
        match run(root, args) {
            Ok(code) => panic!("ran: {code:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn the_serial_port_is_checked_before_anything_is_built() {
        let err = run_error(&args(Path::new("/dev/nonexistent")));
        assert!(
            err.starts_with("cannot open serial /dev/nonexistent: No such file"),
            "{err}"
        );
        assert!(!err.contains('\n'), "{err}");
        let err = run_error(&args(Path::new("/dev/null")));
        assert!(err.contains("serial /dev/null is not a terminal"), "{err}");
        let mut with_log = args(Path::new("/dev/null"));
        with_log.log_serial = Some("/dev/nonexistent-log".into());
        assert!(run_error(&with_log).contains("/dev/null"));
    }

    #[test]
    fn a_pty_passes_the_check_and_so_does_its_log_line() {
        let (_master, path) = crate::hil::selftest::pty_pair().expect("pty");
        let (_log_master, log_path) = crate::hil::selftest::pty_pair().expect("pty");
        let mut a = args(&path);
        a.log_serial = Some(log_path);
        // Past the serial lines, the build is what fails here.
        let err = run_error(&a);
        assert!(!err.contains("serial"), "{err}");
        a.log_serial = Some("/dev/nonexistent-log".into());
        let err = run_error(&a);
        assert!(
            err.contains("cannot open serial /dev/nonexistent-log"),
            "{err}"
        );
    }
}
