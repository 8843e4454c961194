//! `cargo xtask test`: the host unit tests, then every QEMU test case.
//!
//! The host tests (`cargo test` on the workspace's default members, the
//! host crates) count as one entry, `host-unit-tests`. Each QEMU case counts
//! as one entry: its image is built once per (image, board) and reused, QEMU
//! runs under a hard wall-clock timeout, and the case's checker judges the
//! exit status, console and decoded defmt. A failure prints the problems,
//! the command that reproduces it, the whole console and the defmt log. The
//! last line is `N passed, N failed`, after `kernel builds: N` (each board
//! and kernel build is built once); the exit status is 1 if any failed.
//! After the cases, `kernel-text-size` (crate::textsize) holds the default
//! image's kernel text on virt and rpi4 to issue 12's 128 KiB.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};
use qemu_tests::{check, Case, Exit, Outcome, CASES};

use crate::build::{self, Built};
use crate::cli::{Board, Machine, MachineArgs, TestArgs, UsageError};
use crate::image::{self, Image};
use crate::qemu::{self, RunResult, RunSpec};

/// A case with its machine and image checked.
struct Prepared {
    case: &'static Case,
    machine: Machine,
    image: Image,
}

/// The `--board/--smp/...` arguments a case stands for.
fn machine_args(case: &Case) -> MachineArgs {
    MachineArgs {
        board: Some(case.board.to_string()),
        smp: Some(case.smp.to_string()),
        cpu: case.cpu.map(str::to_string),
        gic: case.gic.map(|g| g.to_string()),
        el2: case.el2,
        mem: case.mem.map(str::to_string),
        image: Some(case.image.to_string()),
    }
}

/// Every entry a filter can select, in the order they run: the QEMU
/// cases, the kernel-text guard, the benchmarks' smoke test and
/// instruction-count guard, the HIL path entries.
fn entry_names() -> Vec<&'static str> {
    CASES
        .iter()
        .map(|c| c.name)
        .chain([
            crate::textsize::NAME,
            crate::bench::smoke::NAME,
            crate::bench::guard::NAME,
        ])
        .chain(crate::hil::selftest::NAMES)
        .collect()
}

/// A filter must select at least one of `names`; otherwise a usage error
/// naming the (up to 5) closest names.
fn check_filter(filter: &str, names: &[&str]) -> Result<(), UsageError> {
    if names.iter().any(|n| n.contains(filter)) {
        return Ok(());
    }
    Err(UsageError(format!(
        "test: no test matches {filter:?} (closest: {}; `cargo xtask test --list` lists all {})",
        closest(filter, names, 5).join(", "),
        names.len()
    )))
}

/// The `k` names closest to `filter`: first those containing the most of
/// its `-`-separated words, then by edit distance from `filter` to the best
/// matching part of the name (a typo costs 1 wherever it is), then the
/// shorter name; ties keep the table order.
fn closest<'a>(filter: &str, names: &[&'a str], k: usize) -> Vec<&'a str> {
    let words: Vec<&str> = filter.split('-').filter(|w| !w.is_empty()).collect();
    let mut scored: Vec<(std::cmp::Reverse<usize>, usize, usize, usize)> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let hits = words.iter().filter(|w| name.contains(**w)).count();
            (
                std::cmp::Reverse(hits),
                substring_distance(filter, name),
                name.len(),
                i,
            )
        })
        .collect();
    scored.sort_unstable();
    scored.into_iter().take(k).map(|s| names[s.3]).collect()
}

/// The least edit distance (insertions, deletions, substitutions) between
/// `needle` and any substring of `hay` (Sellers' algorithm).
fn substring_distance(needle: &str, hay: &str) -> usize {
    let needle: Vec<char> = needle.chars().collect();
    // Row i: the best distance of needle[..i] ending at each position of hay;
    // a match may start anywhere, so row 0 is all zeros.
    let mut row = vec![0usize; hay.chars().count() + 1];
    for (i, &n) in needle.iter().enumerate() {
        let mut next = vec![i + 1; row.len()];
        for (j, h) in hay.chars().enumerate() {
            let substitute = row[j] + usize::from(n != h);
            next[j + 1] = substitute.min(row[j + 1] + 1).min(next[j] + 1);
        }
        row = next;
    }
    row.into_iter().min().unwrap_or(needle.len())
}

/// Checks the filter, then every selected case's machine and image, before
/// anything runs.
fn prepare(root: &Path, filter: Option<&str>) -> Result<Vec<Prepared>> {
    if let Some(filter) = filter {
        check_filter(filter, &entry_names())?;
    }
    let mut prepared = Vec::new();
    for case in CASES
        .iter()
        .filter(|c| filter.is_none_or(|f| c.name.contains(f)))
    {
        let (machine, image) = image::resolve(root, &machine_args(case))
            .with_context(|| format!("test case {}", case.name))?;
        prepared.push(Prepared {
            case,
            machine,
            image,
        });
    }
    Ok(prepared)
}

pub fn run(root: &Path, args: &TestArgs) -> Result<ExitCode> {
    let cases = prepare(root, args.filter.as_deref())?;
    if args.list {
        for p in &cases {
            println!(
                "{:<32} cargo xtask qemu {}",
                p.case.name,
                p.case.qemu_flags().join(" ")
            );
        }
        if crate::textsize::selected(args.filter.as_deref()) {
            println!(
                "{:<32} (kernel text of the default image on virt and rpi4 at most 128 KiB)",
                crate::textsize::NAME
            );
        }
        if crate::bench::smoke::selected(args.filter.as_deref()) {
            println!(
                "{:<32} (benchmarks' smoke test: cargo xtask bench --smp 2 --no-linux, ours only)",
                crate::bench::smoke::NAME
            );
        }
        if crate::bench::guard::selected(args.filter.as_deref()) {
            println!(
                "{:<32} (instruction counts against bench/baseline.toml: micro, kcb-console-ring-1)",
                crate::bench::guard::NAME
            );
        }
        for name in hil_entries(args.filter.as_deref()) {
            println!(
                "{name:<32} (HIL path: QEMU raspi4b + chainloader over ptys, see docs/hil.md)"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    crate::doctor::run(false, true)?;
    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut tally = |ok: bool| if ok { passed += 1 } else { failed += 1 };

    if !args.no_host {
        tally(host_tests(root));
        tally(loom_tests(root));
        tally(crate::lint::run(root));
    }
    let mut builds: HashMap<(String, Board), Result<Built, String>> = HashMap::new();
    for p in &cases {
        let key = (p.image.name.clone(), p.machine.board);
        let built = builds.entry(key).or_insert_with(|| {
            build::build(root, &p.image, p.machine.board).map_err(|e| format!("{e:#}"))
        });
        tally(run_case(root, p, built, args.show_output));
    }
    if crate::textsize::selected(args.filter.as_deref()) {
        tally(crate::textsize::run_entry(root, &mut builds));
    }
    if crate::bench::smoke::selected(args.filter.as_deref()) {
        tally(crate::bench::smoke::run(root, &mut builds));
    }
    if crate::bench::guard::selected(args.filter.as_deref()) {
        tally(crate::bench::guard::run_entry(root, &mut builds));
    }
    if !hil_entries(args.filter.as_deref()).is_empty() {
        let (p, f) = crate::hil::selftest::run(root, args.filter.as_deref(), &mut builds);
        passed += p;
        failed += f;
    }
    println!();
    println!(
        "kernel builds: {} (cargo build of the kernel; at most 2 per board)",
        build::KERNEL_BUILDS.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The HIL self-test entries (docs/hil.md) selected by `filter`.
fn hil_entries(filter: Option<&str>) -> Vec<&'static str> {
    crate::hil::selftest::NAMES
        .into_iter()
        .filter(|n| filter.is_none_or(|f| n.contains(f)))
        .collect()
}

/// Runs `cargo test` on the host crates, shows its output and sums its
/// `test result:` lines. Passes only if cargo succeeds.
fn host_tests(root: &Path) -> bool {
    println!("running host unit tests: cargo test (the workspace's default members)");
    cargo_tests(root, "host-unit-tests", &["test"], &[])
}

/// The loom models: the ring protocol's memory ordering (servers/lib/ring,
/// src/loom_tests.rs), the connection handshake and sleeping flag
/// (servers/lib/conn, src/loom_tests.rs), the kernel's cross-core protocol
/// (microkernel/core, src/crosscore/loom_tests.rs and
/// lifecycle_loom_tests.rs), the kernel's lock (microkernel/core,
/// src/lock/loom_tests.rs) and the in-kernel block baseline's sleeping
/// lock (src/lock/sleep_tests.rs), in their own target directory: `--cfg loom`
/// would otherwise rebuild every host crate.
fn loom_tests(root: &Path) -> bool {
    println!("running loom models of the ring, connection and cross-core protocols and the kernel lock: cargo test -p ring -p conn -p kerncore --release --lib loom (--cfg loom)");
    let dir = build::target_dir(root).join("loom");
    let dir = dir.to_string_lossy().into_owned();
    let args = [
        "test",
        "-p",
        "ring",
        "-p",
        "conn",
        "-p",
        "kerncore",
        "--release",
        "--lib",
        "loom",
    ];
    let envs = [
        ("RUSTFLAGS", "--cfg loom"),
        ("CARGO_TARGET_DIR", dir.as_str()),
    ];
    cargo_tests(root, "loom-models", &args, &envs)
}

/// Runs cargo with `args` and `envs`, shows its output, sums its `test
/// result:` lines and reports entry `name`.
fn cargo_tests(root: &Path, name: &str, args: &[&str], envs: &[(&str, &str)]) -> bool {
    let start = Instant::now();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let child = Command::new(cargo)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            println!("test {name} ... FAILED (cannot run cargo: {e})");
            return false;
        }
    };
    let (mut ok_count, mut failed_count) = (0u64, 0u64);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some((p, f)) = parse_test_result(&line) {
                ok_count += p;
                failed_count += f;
            }
        }
    }
    let success = child.wait().is_ok_and(|s| s.success());
    println!(
        "test {name} ... {} ({:.1}s, {ok_count} passed, {failed_count} failed)",
        if success { "ok" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    success
}

/// `test result: ok. 15 passed; 0 failed; ...` -> (15, 0).
fn parse_test_result(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let count = |word: &str| -> Option<u64> {
        rest.split([';', '.'])
            .map(str::trim)
            .find_map(|part| part.strip_suffix(word)?.trim().parse().ok())
    };
    Some((count(" passed")?, count(" failed")?))
}

fn run_case(root: &Path, p: &Prepared, built: &Result<Built, String>, show_output: bool) -> bool {
    let name = p.case.name;
    let built = match built {
        Ok(built) => built,
        Err(e) => {
            println!(
                "test {name} ... FAILED (build of image {} for {} failed: {e})",
                p.image.name, p.machine.board
            );
            return false;
        }
    };
    print!("test {name} ... ");
    let _ = std::io::stdout().flush();
    let start = Instant::now();
    let without_disk;
    let built = if p.case.no_disk || p.case.wire {
        without_disk = Built {
            disk: if p.case.no_disk {
                None
            } else {
                built.disk.clone()
            },
            net_wire: p.case.wire,
            ..built.clone()
        };
        &without_disk
    } else {
        built
    };
    if let Some(disk) = &built.disk {
        if let Err(e) = crate::disk::prepare(disk, p.case.keep_disk) {
            println!("FAILED (disk {}: {e:#})", disk.path.display());
            return false;
        }
    }
    let spec = RunSpec {
        root,
        machine: &p.machine,
        built,
        interactive: false,
        gdb: false,
        icount: p.case.icount,
        extra: &[],
        timeout: Some(p.case.timeout),
    };
    let result = match qemu::run_with_io(&spec, p.case.input, p.case.net) {
        Ok(result) => result,
        Err(e) => {
            println!("FAILED (cannot run QEMU: {e:#})");
            return false;
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let outcome = Outcome {
        // The kernel ending the run at its time limit is the timeout the
        // case's checker knows (the console then holds the kernel's report).
        exit: match result.exit {
            Exit::Code(qemu::TIME_LIMIT_STATUS) => Exit::Timeout,
            e => e,
        },
        console: result.console.clone(),
        log: result.log.lines.clone(),
        log_bytes: result.log.bytes,
    };
    let problems: Vec<String> = [
        check(p.case, &outcome),
        disk_verdict(p, built),
        net_verdict(p, &result),
    ]
    .into_iter()
    .filter_map(Result::err)
    .flatten()
    .collect();
    match if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    } {
        Ok(()) => {
            println!("ok ({seconds:.1}s)");
            if show_output {
                report(p, &result, &[]);
            }
            true
        }
        Err(problems) => {
            println!("FAILED ({seconds:.1}s, {})", result.exit);
            report(p, &result, &problems);
            false
        }
    }
}

/// The case's network check: its traffic was sent and every echo came
/// back whole.
fn net_verdict(p: &Prepared, result: &RunResult) -> Result<(), Vec<String>> {
    let Some(t) = p.case.net else {
        return Ok(());
    };
    match &result.net {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(vec![format!("network step: {e}")]),
        None => Err(vec![format!(
            "network step never ran: the console never showed all of {:?}",
            t.ready
        )]),
    }
}

/// The case's disk check: the disk file after the run holds the pattern in
/// the sectors the case names.
fn disk_verdict(p: &Prepared, built: &Built) -> Result<(), Vec<String>> {
    if p.case.disk_pattern.is_empty() {
        return Ok(());
    }
    let problems = match &built.disk {
        None => vec![format!("image {} has no block device", p.image.name)],
        Some(disk) => match std::fs::read(&disk.path) {
            Ok(bytes) => match disk.kind {
                crate::disk::DiskKind::Virtio => qemu_tests::check_disk(p.case, &bytes),
                crate::disk::DiskKind::SdCard { .. } => check_card(p.case, &disk.path, &bytes),
            },
            Err(e) => vec![format!("cannot read {}: {e}", disk.path.display())],
        },
    };
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// An SD card after the run: the pattern in the data partition (the
/// case's sectors count from its start), everything before it byte for
/// byte as it was made (the copy `disk::prepare` kept: MBR, boot
/// partition), and nothing written past it.
fn check_card(case: &Case, path: &Path, card: &[u8]) -> Vec<String> {
    let data = match crate::sdimage::partitions(card) {
        Ok((_, data)) => data,
        Err(e) => return vec![format!("card {}: {e:#}", path.display())],
    };
    let from = (data.start * crate::sdimage::SECTOR) as usize;
    let to = from + (data.sectors * crate::sdimage::SECTOR) as usize;
    let mut problems = qemu_tests::check_disk(case, &card[from..to]);
    let copy = crate::disk::boot_copy(path);
    match std::fs::read(&copy) {
        Ok(boot) if boot[..] == card[..from] => {}
        Ok(boot) => {
            let at = boot.iter().zip(card).position(|(a, b)| a != b);
            problems.push(format!(
                "card: the MBR and boot partition changed (first difference at byte {at:?} of {})",
                boot.len()
            ));
        }
        Err(e) => problems.push(format!("cannot read {}: {e}", copy.display())),
    }
    if let Some(at) = card[to..].iter().position(|&b| b != 0) {
        problems.push(format!(
            "card: byte {} past the data partition was written",
            to + at
        ));
    }
    problems
}

/// Everything needed to understand a failure, after its progress line.
fn report(p: &Prepared, result: &RunResult, problems: &[String]) {
    for problem in problems {
        println!("    problem: {problem}");
    }
    println!(
        "    reproduce: cargo xtask qemu {}",
        p.case.qemu_flags().join(" ")
    );
    if let Some((trigger, bytes)) = p.case.input {
        let when = if result.input_sent {
            "typed when the console showed"
        } else {
            "never typed: the console never showed"
        };
        println!("    input: {bytes:?} {when} {trigger:?} (by hand: type it after that line)");
    }
    if let Some(Ok(done)) = result.net.as_ref().filter(|_| p.case.net.is_some()) {
        for line in done {
            println!("    network step: {line}");
        }
    }
    println!("---- {} console ({}) ----", p.case.name, result.exit);
    print!("{}", result.console);
    if !result.console.is_empty() && !result.console.ends_with('\n') {
        println!();
    }
    let log = &result.log;
    println!(
        "---- {} defmt ({} lines, {} bytes, {} malformed{}) ----",
        p.case.name,
        log.lines.len(),
        log.bytes,
        log.malformed,
        if log.connected {
            ""
        } else {
            ", QEMU never connected"
        }
    );
    for line in &log.lines {
        println!("{line}");
    }
    if let Some(warning) = log.warning() {
        println!("{warning}");
    }
    if !result.stderr.trim().is_empty() {
        println!("---- {} qemu stderr ----", p.case.name);
        println!("{}", result.stderr.trim_end());
    }
    println!("---- end of {} ----", p.case.name);
}

#[cfg(test)]
mod tests;
