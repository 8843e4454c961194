//! Host tests of argument validation: clap's parsing and our machine checks.

use clap::{CommandFactory, Parser};

use super::*;

/// Parses `cargo xtask qemu ARGS` and validates the machine against QEMU
/// 10.0's CPU models (no QEMU is asked).
fn qemu(args: &[&str]) -> Result<Machine, String> {
    let argv = ["cargo xtask", "qemu"].iter().chain(args);
    let cli = Cli::try_parse_from(argv).map_err(|e| format!("clap: {e}"))?;
    let Command::Qemu(q) = cli.command else {
        return Err("not qemu".to_string());
    };
    Machine::check(&q.machine, &CpuModels::builtin()).map_err(|e| e.0)
}

fn rejects(args: &[&str], needle: &str) {
    match qemu(args) {
        Ok(m) => panic!("{args:?} accepted as {m:?}"),
        Err(message) => {
            assert!(
                message.contains(needle),
                "{args:?}: {message:?} lacks {needle:?}"
            );
            assert!(
                !message.contains('\n'),
                "{args:?}: not one line: {message:?}"
            );
        }
    }
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn defaults() {
    let m = qemu(&[]).expect("defaults are valid");
    assert_eq!(
        m,
        Machine {
            board: Board::Virt,
            smp: 4,
            cpu: "cortex-a72".to_string(),
            gic: 3,
            el2: false,
            mem_mib: 1024,
        }
    );
}

#[test]
fn full_virt_configuration() {
    let m = qemu(&[
        "--board", "virt", "--smp", "8", "--cpu", "max", "--gic", "2", "--el2", "--mem", "4G",
    ])
    .expect("valid");
    assert_eq!(
        (m.smp, m.cpu.as_str(), m.gic, m.el2, m.mem_mib),
        (8, "max", 2, true, 4096)
    );
}

#[test]
fn rpi4_defaults_and_allowed_flags() {
    let m = qemu(&["--board", "rpi4"]).expect("valid");
    assert_eq!(
        (m.board, m.smp, m.cpu.as_str(), m.el2, m.mem_mib),
        (Board::Rpi4, 4, "cortex-a72", true, 2048)
    );
    qemu(&[
        "--board",
        "rpi4",
        "--smp",
        "4",
        "--cpu",
        "cortex-a72",
        "--mem",
        "2048MiB",
    ])
    .expect("the fixed values may be spelled out");
}

#[test]
fn imx8mp_defaults_and_limits() {
    let m = qemu(&["--board", "imx8mp"]).expect("valid");
    assert_eq!(
        (m.board, m.smp, m.cpu.as_str(), m.gic, m.el2, m.mem_mib),
        (Board::Imx8mp, 4, "cortex-a53", 3, true, 1024)
    );
    let m = qemu(&["--board", "imx8mp", "--mem", "3G"]).expect("valid");
    assert_eq!(m.mem_mib, 3072);
    for (flag, value, needle) in [
        ("--smp", "2", "imx8mp (imx8mp-evk) always has 4 cores"),
        ("--cpu", "cortex-a72", "always cortex-a53"),
        ("--gic", "3", "fixed GICv3"),
        ("--mem", "4G", "imx8mp takes 256M..=3G"),
        ("--mem", "128M", "imx8mp takes 256M..=3G"),
    ] {
        rejects(&["--board", "imx8mp", flag, value], needle);
    }
}

#[test]
fn unknown_board() {
    rejects(
        &["--board", "pi5"],
        "--board \"pi5\": unknown board (known: virt, rpi4, imx8mp)",
    );
}

#[test]
fn smp_limits() {
    rejects(&["--smp", "0"], "--smp 0: at least one core");
    rejects(&["--smp", "17"], "virt supports at most 16 cores");
    rejects(&["--smp", "many"], "not a number");
    rejects(&["--smp=-1"], "not a number");
    rejects(
        &["--board", "rpi4", "--smp", "2"],
        "rpi4 (raspi4b) always has 4 cores",
    );
    rejects(&["--board", "rpi4", "--smp", "8"], "always has 4 cores");
    for n in ["1", "2", "4", "8", "9", "12", "16"] {
        qemu(&["--smp", n]).expect("valid smp");
        qemu(&["--smp", n, "--gic", "3"]).expect("valid smp on GICv3");
    }
}

#[test]
fn smp_limit_is_the_kernels() {
    assert_eq!(Board::Virt.max_cores() as usize, platform::MAX_CPUS);
    let max = platform::MAX_CPUS.to_string();
    assert_eq!(qemu(&["--smp", &max]).expect("MAX_CPUS cores").smp, 16);
}

#[test]
fn gicv2_takes_at_most_8_cores() {
    qemu(&["--smp", "8", "--gic", "2"]).expect("8 cores on GICv2");
    for n in ["9", "12", "16"] {
        rejects(
            &["--smp", n, "--gic", "2"],
            "a GICv2 addresses at most 8 cores",
        );
    }
    rejects(&["--smp", "9", "--gic", "2"], "use --gic 3");
}

#[test]
fn cpu_models() {
    for cpu in CpuModels::builtin().offered() {
        assert_eq!(qemu(&["--cpu", cpu]).expect("valid").cpu, cpu);
    }
    // Every ARMv8-A model of QEMU 10, beyond the four offered before.
    for cpu in [
        "cortex-a76",
        "neoverse-n1",
        "cortex-a55",
        "cortex-a710",
        "neoverse-n2",
        "neoverse-v1",
        "cortex-a35",
        "a64fx",
    ] {
        assert_eq!(qemu(&["--cpu", cpu]).expect(cpu).cpu, cpu);
    }
    rejects(&["--cpu", "cortex-a15"], "32-bit-only (AArch32)");
    rejects(&["--cpu", "arm926"], "32-bit-only (AArch32)");
    rejects(&["--cpu", "host"], "needs KVM");
    rejects(&["--cpu", "cortex-a99"], "has no such CPU model");
    rejects(
        &["--board", "rpi4", "--cpu", "cortex-a53"],
        "always cortex-a72",
    );
    rejects(&["--board", "rpi4", "--cpu", "max"], "always cortex-a72");
}

#[test]
fn gic_versions() {
    assert_eq!(qemu(&["--gic", "2"]).expect("valid").gic, 2);
    assert_eq!(qemu(&["--gic", "3"]).expect("valid").gic, 3);
    rejects(&["--gic", "4"], "must be 2 or 3");
    rejects(&["--gic", "v3"], "must be 2 or 3");
    rejects(
        &["--board", "rpi4", "--gic", "2"],
        "rpi4 has a fixed GIC-400",
    );
}

#[test]
fn memory_sizes() {
    for (text, mib) in [
        ("256M", 256),
        ("4G", 4096),
        ("1024M", 1024),
        ("512MiB", 512),
        ("2gb", 2048),
        ("2048", 2048),
        ("255G", 255 * 1024),
        ("128M", 128),
    ] {
        assert_eq!(qemu(&["--mem", text]).expect(text).mem_mib, mib, "{text}");
    }
    rejects(&["--mem", "lots"], "not a size");
    rejects(&["--mem", "1.5G"], "not a size");
    rejects(&["--mem", "G"], "not a size");
    rejects(&["--mem", "99999999999999999999T"], "not a size");
    rejects(&["--mem", "64M"], "virt needs at least 128M");
    rejects(&["--mem", "127M"], "at least 128M");
    rejects(&["--mem", "256G"], "virt allows at most 255G");
    rejects(&["--mem", "1T"], "at most 255G");
    rejects(
        &["--board", "rpi4", "--mem", "1G"],
        "rpi4 (raspi4b) has a fixed 2G",
    );
    rejects(&["--board", "rpi4", "--mem", "4G"], "fixed 2G");
    rejects(&["--board", "rpi4", "--mem", "x"], "not a size");
}

#[test]
fn clap_errors_exit_2() {
    for argv in [
        &["cargo xtask", "qemu", "--smp"][..],
        &["cargo xtask", "qemu", "--frobnicate"],
        &["cargo xtask", "launch"],
        &["cargo xtask"],
    ] {
        let err = Cli::try_parse_from(argv).expect_err("must fail");
        assert_eq!(err.exit_code(), 2, "{argv:?}");
    }
}

#[test]
fn qemu_args_after_double_dash() {
    let cli = Cli::try_parse_from(["cargo xtask", "qemu", "--gdb", "--", "-d", "int", "--smp"])
        .expect("valid");
    let Command::Qemu(q) = cli.command else {
        panic!("not qemu")
    };
    assert!(q.gdb);
    assert_eq!(q.qemu_args, ["-d", "int", "--smp"]);
}

#[test]
fn every_table_case_is_a_valid_machine() {
    for case in qemu_tests::CASES {
        let flags = case.qemu_flags();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let m = qemu(&flags).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(m.smp, case.smp, "{}", case.name);
    }
}
