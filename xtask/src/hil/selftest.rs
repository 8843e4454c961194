//! The HIL path tested without a board, as entries of `cargo xtask test`:
//!
//! - `hil-qemu-*`: QEMU `raspi4b` boots the real chainloader with UART0 and
//!   the mini UART on pseudo-terminals (`-serial pty`, no `-no-reboot`: the
//!   kernel's watchdog reboot restarts the machine, and the chainloader with
//!   it) and `hil`'s own session pushes rpi4 cases through them: one whose
//!   first transfer has a flipped byte (must be NAKed and retried), then
//!   the boot and panic cases;
//! - `hil-no-answer`: a pty nobody drives must end in a timeout naming it;
//! - `hil-wrong-baud`: a pty fed the loader's lines as a receiver at the
//!   wrong speed would see them ([`misframe`]) must be reported as a wrong
//!   baud rate. This proves the classification on realistically mis-framed
//!   bytes; it does not prove what a given USB adapter delivers.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, PtyMaster};
use qemu_tests::CASES;

use crate::build::{self, Built};
use crate::cli::Board;
use crate::doctor::QEMU;
use crate::hil::push::{push, LineReader};
use crate::hil::{session, HilCase, Link};
use crate::qemu::{die_with_parent, set_running, RPI4_DTB};
use crate::serial::Port;

/// The entries, in the order they run.
pub const NAMES: [&str; 5] = [
    "hil-qemu-corrupted-transfer",
    "hil-qemu-boot-rpi4",
    "hil-qemu-panic-rpi4",
    "hil-no-answer",
    "hil-wrong-baud",
];

/// (entry, case it runs, flip a byte of its first transfer).
const QEMU_RUNS: [(&str, &str, bool); 3] = [
    ("hil-qemu-corrupted-transfer", "panic-rpi4", true),
    ("hil-qemu-boot-rpi4", "boot-rpi4", false),
    ("hil-qemu-panic-rpi4", "panic-rpi4", false),
];

type Builds = HashMap<(String, Board), Result<Built, String>>;

/// Runs the entries whose name contains `filter`; (passed, failed).
pub fn run(root: &Path, filter: Option<&str>, builds: &mut Builds) -> (usize, usize) {
    let wanted = |name: &str| filter.is_none_or(|f| name.contains(f));
    let mut tally = (0, 0);
    let mut count = |ok: bool| if ok { tally.0 += 1 } else { tally.1 += 1 };
    let runs: Vec<_> = QEMU_RUNS.iter().filter(|(n, _, _)| wanted(n)).collect();
    if !runs.is_empty() {
        for ok in qemu_session(root, &runs, builds) {
            count(ok);
        }
    }
    if wanted("hil-no-answer") {
        count(entry("hil-no-answer", no_answer));
    }
    if wanted("hil-wrong-baud") {
        count(entry("hil-wrong-baud", wrong_baud));
    }
    tally
}

fn entry(name: &str, body: fn() -> Result<String>) -> bool {
    print!("test {name} ... ");
    let _ = std::io::stdout().flush();
    let start = Instant::now();
    match body() {
        Ok(note) => {
            println!("ok ({:.1}s: {note})", start.elapsed().as_secs_f64());
            true
        }
        Err(e) => {
            println!("FAILED ({e:#})");
            false
        }
    }
}

fn qemu_session(root: &Path, runs: &[&(&str, &str, bool)], builds: &mut Builds) -> Vec<bool> {
    let fail_all = |why: String| {
        for (name, _, _) in runs {
            println!("test {name} ... FAILED ({why})");
        }
        vec![false; runs.len()]
    };
    let mut cases = Vec::new();
    for (_, name, _) in runs {
        match CASES.iter().find(|c| c.name == *name) {
            Some(case) => cases.push(case),
            None => return fail_all(format!("no case {name} in tests/src/cases.rs")),
        }
    }
    for case in &cases {
        let key = (case.image.to_string(), Board::Rpi4);
        builds.entry(key).or_insert_with(|| {
            crate::image::select(root, case.image, Board::Rpi4)
                .map_err(|e| format!("{e:#}"))
                .and_then(|i| build::build(root, &i, Board::Rpi4).map_err(|e| format!("{e:#}")))
        });
    }
    let loader = match crate::loader::build(root, chainload::DEFAULT_BAUD) {
        Ok(loader) => loader,
        Err(e) => return fail_all(format!("building the chainloader: {e:#}")),
    };
    let mut hil_cases = Vec::new();
    for ((name, _, corrupt), case) in runs.iter().zip(cases) {
        match &builds[&(case.image.to_string(), Board::Rpi4)] {
            Ok(built) => hil_cases.push(HilCase {
                label: name.to_string(),
                case,
                built,
                corrupt_first: *corrupt,
            }),
            Err(e) => return fail_all(format!("build of image {}: {e}", case.image)),
        }
    }
    let board = match PtyBoard::start(root, &loader.path) {
        Ok(board) => board,
        Err(e) => return fail_all(format!("{e:#}")),
    };
    let link = Link {
        serial: board.console.clone(),
        baud: chainload::DEFAULT_BAUD,
        log_serial: Some(board.log.clone()),
        wait: Duration::from_secs(10),
    };
    let verdicts = match session(&link, &hil_cases) {
        Ok(v) => v,
        Err(e) => return fail_all(format!("{e:#}")),
    };
    drop(board);
    hil_cases
        .iter()
        .zip(verdicts)
        .map(|(c, v)| {
            let caught = v.naks.iter().any(|n| n.starts_with("bad-crc"));
            if c.corrupt_first && v.passed && !caught {
                println!("    problem: the flipped byte was not NAKed as bad-crc");
                return false;
            }
            v.passed
        })
        .collect()
}

/// QEMU raspi4b running the chainloader, UART0 and the mini UART on ptys.
struct PtyBoard {
    child: Child,
    console: PathBuf,
    log: PathBuf,
}

impl PtyBoard {
    fn start(root: &Path, loader: &Path) -> Result<PtyBoard> {
        let dtb = root.join(RPI4_DTB);
        let mut cmd = Command::new(QEMU);
        cmd.args(["-M", "raspi4b", "-display", "none", "-monitor", "none"])
            .arg("-dtb")
            .arg(&dtb)
            .arg("-kernel")
            .arg(loader)
            .args(["-serial", "pty", "-serial", "pty"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {QEMU}"))?;
        set_running(Some(child.id()));
        // QEMU names each pty on stdout: "char device redirected to
        // /dev/pts/N (label serialK)". Keep draining both pipes after.
        let (tx, rx) = mpsc::channel();
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        for pipe in [Box::new(out) as Box<dyn Read + Send>, Box::new(err)] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut board = PtyBoard {
            child,
            console: PathBuf::new(),
            log: PathBuf::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while board.console.as_os_str().is_empty() || board.log.as_os_str().is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                bail!(
                    "QEMU did not name its two ptys within 10 s: {}",
                    seen.join(" | ")
                );
            };
            if let Some((path, label)) = pty_line(&line) {
                match label.as_str() {
                    "serial0" => board.console = path,
                    "serial1" => board.log = path,
                    _ => {}
                }
            }
            seen.push(line);
        }
        Ok(board)
    }
}

impl Drop for PtyBoard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        set_running(None);
    }
}

/// `char device redirected to /dev/pts/3 (label serial0)` -> (path, label).
pub fn pty_line(line: &str) -> Option<(PathBuf, String)> {
    let rest = line.split("redirected to ").nth(1)?;
    let (path, label) = rest.split_once(" (label ")?;
    Some((
        PathBuf::from(path.trim()),
        label.trim_end_matches(')').to_string(),
    ))
}

/// A pseudo-terminal pair: the master end and the slave's path.
pub fn pty_pair() -> Result<(PtyMaster, PathBuf)> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY).context("posix_openpt")?;
    grantpt(&master).context("grantpt")?;
    unlockpt(&master).context("unlockpt")?;
    let path = ptsname_r(&master).context("ptsname")?;
    Ok((master, PathBuf::from(path)))
}

fn no_answer() -> Result<String> {
    let (_master, path) = pty_pair()?;
    let port = Port::open(&path, 115_200)?;
    let mut reader = LineReader::new(&port);
    let err = match push(
        &mut reader,
        b"kernel",
        115_200,
        Duration::from_secs(2),
        false,
    ) {
        Ok(_) => bail!("a silent line accepted a push"),
        Err(e) => format!("{e:#}"),
    };
    let shown = path.display().to_string();
    if !(err.contains(&shown) && err.contains("no answer") && err.contains("within 2 s")) {
        bail!("unclear error for a silent {shown}: {err}");
    }
    Ok(err)
}

fn wrong_baud() -> Result<String> {
    let (mut master, path) = pty_pair()?;
    let port = Port::open(&path, 115_200)?;
    // The board talks at 57600 while the host listens at 115200.
    let mut talk = format!("{}: EL2\r\n", chainload::BANNER).into_bytes();
    for _ in 0..8 {
        talk.extend_from_slice(format!("{}\r\n", chainload::READY).as_bytes());
    }
    let garbled = misframe(&talk, 57_600, 115_200);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let feeder = std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            let _ = master.write_all(&garbled);
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let mut reader = LineReader::new(&port);
    let result = push(
        &mut reader,
        b"kernel",
        115_200,
        Duration::from_secs(3),
        false,
    );
    stop.store(true, Ordering::Relaxed);
    let _ = feeder.join();
    let err = match result {
        Ok(_) => bail!("a garbled line accepted a push"),
        Err(e) => format!("{e:#}"),
    };
    let want = format!("no chainloader banner at 115200 baud on {}", path.display());
    if !(err.contains(&want) && err.contains("wrong baud rate?")) {
        bail!("not reported as a wrong baud rate: {err}");
    }
    Ok(err)
}

/// What a UART receiving at `rx_baud` reads from `bytes` sent at `tx_baud`
/// (8N1, idle high, sampled mid-bit; a missing stop bit is a framing error,
/// which Linux delivers as a NUL byte in raw mode).
pub fn misframe(bytes: &[u8], tx_baud: u32, rx_baud: u32) -> Vec<u8> {
    let mut bits = Vec::new();
    for &b in bytes {
        bits.push(false);
        bits.extend((0..8).map(|i| b >> i & 1 == 1));
        bits.push(true);
    }
    bits.extend([true; 20]);
    let level = |t: f64| {
        bits.get((t * tx_baud as f64) as usize)
            .copied()
            .unwrap_or(true)
    };
    let (step, end) = (1.0 / rx_baud as f64, bits.len() as f64 / tx_baud as f64);
    let fine = 1.0 / (tx_baud.max(rx_baud) as f64 * 8.0);
    let (mut out, mut t) = (Vec::new(), 0.0);
    while t < end {
        if level(t) {
            t += fine;
            continue;
        }
        let mut byte = 0u8;
        for i in 0..8 {
            if level(t + step * (1.5 + i as f64)) {
                byte |= 1 << i;
            }
        }
        out.push(if level(t + step * 9.5) { byte } else { 0 });
        t += step * 9.5;
        while t < end && !level(t) {
            t += fine;
        }
    }
    out
}

#[cfg(test)]
mod tests;
