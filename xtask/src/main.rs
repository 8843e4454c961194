//! `cargo xtask`: the project's host tool (run through the alias in
//! `.cargo/config.toml`).
//!
//! - `doctor`: check (and where possible install) the toolchain file's
//!   targets and components, and QEMU >= 9.0;
//! - `qemu`: build an image for a board, pack it and boot it in QEMU, with
//!   the console on the terminal and the defmt log decoded beside it;
//! - `test`: the host unit tests, then the QEMU test suite (`qemu-tests`);
//! - `flash`: a Raspberry Pi 4 SD card (image file or card), optionally with
//!   the serial chainloader;
//! - `hil`: the rpi4 test cases on a real Pi 4 through that chainloader;
//! - `fuzz`: the system-call fuzzer with a seed, calls or a time limit.
//!
//! Every error is one line on stderr. A mistake in the arguments exits with
//! status 2 (as clap's own errors do); `qemu` exits with QEMU's status.

#![forbid(unsafe_op_in_unsafe_fn)]

mod bench;
mod binds;
mod build;
mod cli;
mod cpus;
mod debian;
mod defmt;
mod device;
mod disk;
mod doctor;
mod firmware;
mod flash;
mod fuzz;
mod hil;
mod image;
mod lint;
mod linux;
mod loader;
mod loadgen;
#[cfg(test)]
mod manual;
mod merge;
mod net;
mod new_task;
mod qemu;
mod sdimage;
mod serial;
mod tasks;
mod test;
mod textsize;
mod toolchain;
mod web;
mod wire;
mod workspace;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::cli::{Cli, Command, QemuArgs, UsageError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    qemu::install_interrupt_handler();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = build::workspace_root();
    match cli.command {
        Command::Doctor(args) => {
            doctor::run(args.dry_run, false)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Qemu(args) => run_qemu(&root, &args),
        Command::NewTask(args) => {
            new_task::run(&root, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Test(args) => test::run(&root, &args),
        Command::Flash(args) => flash::run(&root, &args),
        Command::Hil(args) => hil::run(&root, &args),
        Command::Fuzz(args) => fuzz::run(&root, &args),
        Command::Bench(args) => bench::run(&root, &args),
        Command::LinuxBench(args) => linux::run(&root, &args),
        Command::KcoreBench(args) => {
            doctor::run(false, true)?;
            let _ = crate::bench::kcore::run(&root, true, args.runs, true, &mut |step| {
                eprintln!("bench: {step}")
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_qemu(root: &std::path::Path, args: &QemuArgs) -> Result<ExitCode> {
    // Validate everything before building anything.
    let (machine, image) = image::resolve(root, &args.machine)?;
    doctor::run(false, true)?;
    let mut built = build::build(root, &image, machine.board)?;
    if args.no_disk {
        built.disk = None;
    }
    if let Some(disk) = &built.disk {
        disk::prepare(disk, args.keep_disk)?;
    }
    let spec = qemu::RunSpec {
        root,
        machine: &machine,
        built: &built,
        interactive: true,
        gdb: args.gdb,
        icount: false,
        extra: &args.qemu_args,
        timeout: args.timeout.map(std::time::Duration::from_secs),
    };
    let result = qemu::run(&spec)?;
    if let Some(warning) = result.log.warning() {
        eprintln!("warning: {warning}");
    }
    match result.exit {
        qemu_tests::Exit::Code(0) => {}
        qemu_tests::Exit::Code(qemu::TIME_LIMIT_STATUS) => eprintln!(
            "qemu: the run reached its time limit ({} s); the console lists every task of every core with its state",
            args.timeout.unwrap_or(0)
        ),
        other => eprintln!("qemu: {other}"),
    }
    Ok(ExitCode::from(qemu::exit_code(result.exit)))
}
