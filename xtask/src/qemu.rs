//! Running an image in QEMU: the command line for each board, the console,
//! the defmt log socket, the timeout, and making sure no QEMU outlives us.

use std::io::{IsTerminal, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use qemu_tests::Exit;

use crate::build::{target_dir, Built};
use crate::cli::{Board, Machine};
use crate::defmt::{DecodedLog, Echo, LogSocket};
use crate::doctor::QEMU;
use crate::merge::{self, Input, Merger, Screen};

mod console;
use console::{watch_console, Feed, NetStep};

/// The real Pi 4 device tree; QEMU patches its `/memory` itself.
pub const RPI4_DTB: &str = "tests/fixtures/bcm2711-rpi-4-b.dtb";
/// The i.MX 8M Plus EVK's device tree (Debian's, with UART3 enabled for the
/// log: tests/fixtures/README.md); QEMU makes none for `imx8mp-evk` and
/// patches `/memory` of this one.
pub const IMX8MP_DTB: &str = "tests/fixtures/imx8mp-evk-uart3.dtb";

/// The device tree a board's QEMU machine needs passed with `-dtb` (virt
/// makes its own).
pub fn board_dtb(board: Board) -> Option<&'static str> {
    match board {
        Board::Virt => None,
        Board::Rpi4 => Some(RPI4_DTB),
        Board::Imx8mp => Some(IMX8MP_DTB),
    }
}

/// The QEMU we are waiting for, so Ctrl-C can kill it.
static RUNNING: Mutex<Option<u32>> = Mutex::new(None);

/// Installs the Ctrl-C handler: kill the running QEMU, then exit 130.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        kill_running();
        eprintln!("\ninterrupted");
        std::process::exit(130);
    });
}

fn kill_running() {
    if let Ok(running) = RUNNING.lock() {
        if let Some(pid) = *running {
            // Safety: kill(2) has no memory-safety preconditions. The pid is
            // our QEMU child; it is cleared right after the child is reaped.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
}

pub(crate) fn set_running(pid: Option<u32>) {
    if let Ok(mut running) = RUNNING.lock() {
        *running = pid;
    }
}

/// What to run and how.
pub struct RunSpec<'a> {
    pub root: &'a Path,
    pub machine: &'a Machine,
    pub built: &'a Built,
    /// Interactive: console on the terminal (`mon:stdio`, stdin the
    /// terminal), defmt printed live, the two merged at line boundaries.
    /// Otherwise both are captured apart (stdin is null).
    pub interactive: bool,
    pub gdb: bool,
    pub icount: bool,
    /// Extra arguments appended to QEMU's command line.
    pub extra: &'a [String],
    /// The run's time limit: the kernel is told (`-append timeout=S`, whole
    /// seconds, at least 1) and at the limit prints what each core was
    /// running and ends the run with status 104 (docs/console.md); QEMU is
    /// killed [`TIME_LIMIT_GRACE`] later if it has not ended by then.
    pub timeout: Option<Duration>,
}

impl<'a> RunSpec<'a> {
    /// A benchmark's captured run: not interactive, no gdb, nothing extra,
    /// a 300 s limit.
    pub fn benchmark(
        root: &'a Path,
        machine: &'a Machine,
        built: &'a Built,
        icount: bool,
    ) -> RunSpec<'a> {
        RunSpec {
            root,
            machine,
            built,
            interactive: false,
            gdb: false,
            icount,
            extra: &[],
            timeout: Some(Duration::from_secs(300)),
        }
    }
}

/// How long after the time limit QEMU is killed if the kernel has not
/// ended the run itself (every core stuck with interrupts masked).
pub const TIME_LIMIT_GRACE: Duration = Duration::from_secs(10);
/// The kernel's exit status for a run ended by its time limit.
pub const TIME_LIMIT_STATUS: i32 = 104;

/// What a run produced.
pub struct RunResult {
    pub exit: Exit,
    pub console: String,
    pub stderr: String,
    pub log: DecodedLog,
    /// Whether the console input (see [`run_with_input`]) was sent.
    pub input_sent: bool,
    /// The network step's outcome ([`run_with_io`]): what it did, or its
    /// problem; `None` when there was none or it never started (its ready
    /// lines never appeared).
    pub net: Option<Result<Vec<String>, String>>,
}

/// QEMU's arguments (without the binary) for `machine`.
pub fn qemu_args(
    machine: &Machine,
    raw: &Path,
    dtb: &Path,
    console: &str,
    log_serial: &str,
    gdb: bool,
    icount: bool,
) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    match machine.board {
        Board::Virt => {
            let mut m = format!("virt,gic-version={}", machine.gic);
            if machine.el2 {
                m.push_str(",virtualization=on");
            }
            push(&["-M", &m, "-cpu", &machine.cpu]);
            push(&[
                "-smp",
                &machine.smp.to_string(),
                "-m",
                &format!("{}M", machine.mem_mib),
            ]);
        }
        // raspi4b fixes cores, CPU and RAM; a raw image is entered at EL2.
        Board::Rpi4 => push(&["-M", "raspi4b", "-dtb", &dtb.display().to_string()]),
        // imx8mp-evk fixes the CPU; it starts one core unless told (QEMU's
        // default -smp is 1); a raw image is entered at EL2.
        Board::Imx8mp => push(&[
            "-M",
            "imx8mp-evk",
            "-dtb",
            &dtb.display().to_string(),
            "-smp",
            &machine.smp.to_string(),
            "-m",
            &format!("{}M", machine.mem_mib),
        ]),
    }
    push(&["-display", "none", "-no-reboot"]);
    push(&["-semihosting-config", "enable=on,target=native"]);
    push(&["-kernel", &raw.display().to_string()]);
    // The i.MX UARTs take the `-serial`s in order: UART1 (off in the DTB),
    // then UART2 (the console), then UART3 (the log).
    if machine.board == Board::Imx8mp {
        push(&["-serial", "null"]);
    }
    push(&["-serial", console, "-serial", log_serial]);
    if icount {
        push(&["-icount", qemu_tests::ICOUNT]);
    }
    if gdb {
        push(&["-s", "-S"]);
    }
    args
}

/// A command line as one shell-pasteable string.
pub fn shell_line(program: &str, args: &[String]) -> String {
    let quote = |s: &str| {
        let plain = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_./:=,@+-%".contains(&b));
        if plain {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Boots `spec.built` in QEMU and waits for it (or for the timeout).
pub fn run(spec: &RunSpec<'_>) -> Result<RunResult> {
    run_with_input(spec, None)
}

/// As [`run`]; with `input = Some((trigger, bytes))` (captured runs only)
/// QEMU's stdin, the console UART's receive side, is a pipe, and `bytes`
/// are written to it once the console has shown `trigger`. The console is
/// plain `stdio` there (no `mon:` multiplexer), so every byte reaches the
/// UART as it is.
pub fn run_with_input(spec: &RunSpec<'_>, input: Option<(&str, &str)>) -> Result<RunResult> {
    run_with_io(spec, input, None)
}

/// As [`run_with_input`]; with `net` (captured runs of an image with a
/// network card only), once the console has shown every line of
/// `net.ready`, a thread sends `net`'s traffic to the guest's forwarded
/// ports (`crate::net::check_echo`); its outcome is the result's `net`.
pub fn run_with_io(
    spec: &RunSpec<'_>,
    input: Option<(&str, &str)>,
    net: Option<qemu_tests::NetTraffic>,
) -> Result<RunResult> {
    let input = input.filter(|_| !spec.interactive);
    let wire = spec.built.net_wire;
    let ports = match (spec.built.net, wire) {
        (true, false) => Some(crate::net::Ports::pick()?),
        (true, true) => Some(crate::wire::pick()?),
        (false, _) => None,
    };
    let net = net
        .filter(|_| !spec.interactive)
        .zip(ports)
        .map(|(t, p)| (t, p, wire.then_some(spec.built.net_guests)));
    // Input after the network step needs QEMU's stdin as a pipe too.
    let after = net.is_some_and(|(t, _, _)| !t.after.is_empty());
    let dtb_name = board_dtb(spec.machine.board).unwrap_or(RPI4_DTB);
    let dtb = spec.root.join(dtb_name);
    if board_dtb(spec.machine.board).is_some() && !dtb.is_file() {
        bail!(
            "{dtb_name} is missing: {} needs the board's device tree",
            spec.machine.board
        );
    }
    let socket = LogSocket::bind(&target_dir(spec.root))?;
    let console = if spec.interactive {
        "mon:stdio"
    } else {
        "stdio"
    };
    let mut args = qemu_args(
        spec.machine,
        &spec.built.raw,
        &dtb,
        console,
        &socket.qemu_serial(),
        spec.gdb,
        spec.icount,
    );
    if spec.built.disk.is_some() || ports.is_some() {
        // QEMU's virtio-mmio defaults to the legacy (version 1) transport;
        // the drivers use version 2.
        args.extend(["-global".into(), "virtio-mmio.force-legacy=false".into()]);
    }
    if let Some(disk) = &spec.built.disk {
        // A run nobody prepared a disk for gets a fresh one.
        if !disk.path.is_file() {
            crate::disk::prepare(disk, false)?;
        }
        args.extend(crate::disk::qemu_args(disk));
    }
    // Under `-icount ... sleep=off` QEMU moves the virtual clock straight
    // to the next timer deadline whenever every vCPU sleeps (all tasks
    // blocked, a device at work on the host): with the kernel's time
    // limit armed, a run whose cores all sleep while a block request is
    // in the device would jump to its limit. So an icount run's limit is
    // the host's alone (QEMU killed, the console shown).
    if let Some(t) = spec.timeout.filter(|_| !spec.icount) {
        args.extend([
            "-append".to_string(),
            format!("timeout={}", t.as_secs().max(1)),
        ]);
    }
    if let Some(ports) = ports {
        if wire {
            args.extend(crate::wire::qemu_args(ports));
        } else {
            args.extend(crate::net::qemu_args_to(ports, spec.built.net_guests));
        }
        if spec.interactive {
            eprintln!("{}", ports.describe());
            if spec.built.web {
                eprintln!("{}", ports.url());
            }
        }
    }
    args.extend(spec.extra.iter().cloned());

    if spec.interactive {
        eprintln!("qemu: {}", shell_line(QEMU, &args));
        if spec.gdb {
            eprintln!(
                "qemu: waiting for gdb; attach with: gdb-multiarch -q {} -ex 'target remote :1234'",
                absolute(&spec.built.elf).display()
            );
            eprintln!(
                "qemu: (the kernel runs in the high half: its symbols resolve once the MMU is on)"
            );
        }
    }
    let mut cmd = Command::new(QEMU);
    cmd.args(&args).current_dir(spec.root);
    if spec.interactive {
        // The console comes through us, to be merged with the log lines at
        // line boundaries (merge.rs); stdin stays the terminal, which QEMU
        // puts in raw mode (typing into the console, Ctrl-a x).
        cmd.stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
    } else {
        cmd.stdin(if input.is_some() || after {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    }
    die_with_parent(&mut cmd);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            socket.discard();
            bail!("cannot start {QEMU}: {e} (run `cargo xtask doctor`)");
        }
    };
    set_running(Some(child.id()));
    let terminal = spec.interactive.then(Terminal::start);
    let reader = socket.start(
        spec.built.table.clone(),
        terminal.as_ref().map(Terminal::echo),
    );
    let stdin = child.stdin.take();
    let stdout = child
        .stdout
        .take()
        .map(|out| match (input, stdin, &terminal) {
            (_, _, Some(terminal)) => terminal.forward(out),
            (input, stdin, None) => watch_console(
                out,
                stdin.map(|stdin| Feed {
                    stdin,
                    trigger: input.map(|(t, _)| t.as_bytes().to_vec()),
                    input: input
                        .map(|(_, b)| b.as_bytes().to_vec())
                        .unwrap_or_default(),
                }),
                net,
            ),
        });
    let stderr = child.stderr.take().map(collect);

    let waited = wait(&mut child, spec.timeout.map(|t| t + TIME_LIMIT_GRACE));
    let log = reader.finish();
    let (console, input_sent, net) = match stdout {
        Some(h) => {
            let (bytes, sent, net) = h.join().unwrap_or_default();
            // The network step bounds its own waits; QEMU has ended, so
            // whatever it still waits for fails soon.
            let net = net.map(|n| {
                n.join()
                    .unwrap_or_else(|_| Err("network step panicked".into()))
            });
            (String::from_utf8_lossy(&bytes).into_owned(), sent, net)
        }
        None => (String::new(), false, None),
    };
    if let Some(terminal) = terminal {
        terminal.finish();
    }
    let stderr = stderr.map(join_text).unwrap_or_default();
    let exit = match waited? {
        None => Exit::Timeout,
        Some(status) => exit_of(status),
    };
    Ok(RunResult {
        exit,
        console,
        stderr,
        log,
        input_sent,
        net,
    })
}

/// An interactive run's screen: QEMU's console (its stdout, through a
/// pipe) and the decoded log lines, merged at line boundaries by a thread
/// (merge.rs): console to stdout, log to stderr.
struct Terminal {
    inputs: Sender<Input>,
    writer: JoinHandle<()>,
}

impl Terminal {
    fn start() -> Terminal {
        let (inputs, received) = mpsc::channel();
        // Erasing a shown line needs both streams on a terminal; log lines
        // end in \r\n there, in case QEMU's raw mode has no output processing.
        let redraw = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let crlf = std::io::stderr().is_terminal();
        let writer = std::thread::spawn(move || {
            let mut screen = Screen {
                console: std::io::stdout(),
                log: std::io::stderr(),
                crlf,
            };
            merge::run(received, Merger::new(merge::HOLD, redraw), &mut screen);
        });
        Terminal { inputs, writer }
    }

    /// Hands each decoded log line to the merger.
    fn echo(&self) -> Echo {
        let inputs = self.inputs.clone();
        Box::new(move |line| {
            let _ = inputs.send(Input::Log(line.to_string()));
        })
    }

    /// Hands QEMU's console output to the merger as it comes, until QEMU
    /// closes it (nothing is kept: the result's console stays empty).
    fn forward(&self, mut out: impl Read + Send + 'static) -> JoinHandle<(Vec<u8>, bool, NetStep)> {
        let inputs = self.inputs.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                match out.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        let _ = inputs.send(Input::Console(chunk[..n].to_vec()));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            (Vec::new(), false, None)
        })
    }

    /// Once the log reader and the console forwarder are done: writes what
    /// is left and waits for it.
    fn finish(self) {
        drop(self.inputs);
        let _ = self.writer.join();
    }
}

/// QEMU gets SIGKILL if xtask dies for any reason (even SIGKILL), so no
/// emulator is left behind. Spawned from the main thread, whose exit is
/// what counts (PR_SET_PDEATHSIG follows the spawning thread).
pub(crate) fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    // Safety: the closure runs in the forked child before exec and calls only
    // prctl(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Waits for QEMU; `None` if the timeout ran out (QEMU is then killed).
fn wait(child: &mut Child, timeout: Option<Duration>) -> Result<Option<ExitStatus>> {
    let start = Instant::now();
    let result = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(Some(status)),
            Ok(None) => {}
            Err(e) => break Err(anyhow::Error::new(e).context("waiting for QEMU")),
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            let _ = child.kill();
            break Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if !matches!(result, Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
    set_running(None);
    result
}

fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(sig)) => Exit::Signal(sig),
        (None, None) => Exit::Code(-1),
    }
}

/// xtask's own exit status for a QEMU exit.
pub fn exit_code(exit: Exit) -> u8 {
    match exit {
        Exit::Code(code) => u8::try_from(code).unwrap_or(1),
        Exit::Signal(sig) => u8::try_from(128 + sig).unwrap_or(255),
        Exit::Timeout => 124,
    }
}

fn collect(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn join_text(handle: JoinHandle<Vec<u8>>) -> String {
    String::from_utf8_lossy(&handle.join().unwrap_or_default()).into_owned()
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests;
