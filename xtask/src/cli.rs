//! The command line, and the validation of a machine configuration.
//!
//! Machine flags are taken as strings and checked here rather than by clap, so
//! each mistake is one line naming the flag (exit status 2), and the QEMU test
//! table (which speaks in the same flags) goes through the very same checks.

use std::fmt;

use clap::{Args, Parser, Subcommand};

use crate::cpus::CpuModels;

/// `cargo xtask`: build, run and test the microkernel.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    arg_required_else_help = true,
    about = "Build, run and test the microkernel on QEMU virt, raspi4b and imx8mp-evk",
    after_help = "Examples:
  cargo xtask doctor                        check (and on Debian/Ubuntu as root, install) QEMU
  cargo xtask qemu                          boot the default image: virt, 4 x cortex-a72, GICv3, 1G
  cargo xtask qemu --smp 8 --gic 2 --el2    another virt configuration
  cargo xtask qemu --board rpi4             QEMU raspi4b (4 x cortex-a72, 2G, GIC-400)
  cargo xtask qemu --board imx8mp           QEMU imx8mp-evk (4 x cortex-a53, 1G, GICv3)
  cargo xtask qemu --image panic -- -d int  an image from images/, extra QEMU arguments after --
  cargo xtask qemu --gdb                    wait for gdb on :1234
  cargo xtask test                          host unit tests, then every QEMU test case
  cargo xtask test rpi4 --no-host           only the QEMU cases whose name contains rpi4
  cargo xtask flash --chainloader --device /dev/sdX   an SD card for a Pi 4 that takes kernels over serial
  cargo xtask hil --serial /dev/ttyUSB0     run the rpi4 cases on that Pi 4
  cargo xtask fuzz --seed 7 --secs 600      the system-call fuzzer for 10 minutes of guest time
  cargo xtask bench --mode mttcg            Corey's benchmarks, ours and Linux, wall time (median of 5)
  cargo xtask new-task myapp                a task crate in servers/apps/myapp (--kind test, bench), and its image entry"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that qemu-system-aarch64 >= 9.0 is installed; install it if we can.
    Doctor(DoctorArgs),
    /// Build an image for a board, pack it and boot it in QEMU.
    Qemu(QemuArgs),
    /// Run the host unit tests, then every QEMU test case.
    Test(TestArgs),
    /// Build a Raspberry Pi 4 SD card (image file or the card itself).
    Flash(crate::flash::FlashArgs),
    /// Run the rpi4 test cases on a Raspberry Pi 4 through the serial chainloader.
    Hil(crate::hil::HilArgs),
    /// Run the system-call fuzzer: seeded random calls on every core, checked.
    Fuzz(crate::fuzz::FuzzArgs),
    /// Run Corey's benchmarks beside the Linux peer, and the kernel's micro-benchmarks.
    Bench(crate::bench::BenchArgs),
    /// Run the benchmarks' Linux peer: Debian's arm64 kernel under the same QEMU.
    LinuxBench(crate::linux::LinuxBenchArgs),
    /// Run the kernel-core benchmark: kernel-core servers vs the in-kernel
    /// baseline, 1-3 client cores, -icount and multi-threaded TCG.
    KcoreBench(KcoreBenchArgs),
    /// Make a task crate from a template (workspace member, README layout
    /// row) and print the image entry that runs it.
    NewTask(crate::new_task::NewTaskArgs),
}

#[derive(Debug, Args)]
pub struct KcoreBenchArgs {
    /// Multi-threaded TCG runs per image (median, min and max are reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the install commands instead of running them.
    #[arg(long)]
    pub dry_run: bool,
}

/// The machine and image to run, as given on the command line.
#[derive(Clone, Debug, Default, Args)]
pub struct MachineArgs {
    /// Board: virt, rpi4 or imx8mp [default: virt].
    #[arg(long, value_name = "BOARD")]
    pub board: Option<String>,
    /// Number of cores: 1..=16 on virt (1..=8 with --gic 2) [default: 4]; rpi4 and imx8mp have 4.
    #[arg(long, value_name = "N")]
    pub smp: Option<String>,
    /// CPU model on virt: any AArch64 model of the installed QEMU (cortex-a53,
    /// cortex-a76, neoverse-n1, a64fx, max, ...) [default: cortex-a72].
    #[arg(long, value_name = "MODEL")]
    pub cpu: Option<String>,
    /// GIC version on virt: 2 or 3 [default: 3]; rpi4 has a fixed GIC-400, imx8mp a GICv3.
    #[arg(long, value_name = "2|3")]
    pub gic: Option<String>,
    /// Enter the kernel at EL2 (virt: virtualization=on; rpi4 and imx8mp always enter at EL2).
    #[arg(long)]
    pub el2: bool,
    /// RAM on virt: 128M..=255G, e.g. 512M, 4G, 1024MiB [default: 1G]; rpi4 has 2G; imx8mp 256M..=3G [default: 1G].
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,
    /// Image: the name of a file images/NAME.toml [default: default].
    #[arg(long, value_name = "NAME")]
    pub image: Option<String>,
}

#[derive(Debug, Args)]
pub struct QemuArgs {
    #[command(flatten)]
    pub machine: MachineArgs,
    /// Start halted with a gdb server on :1234 (-s -S) and print how to attach.
    #[arg(long)]
    pub gdb: bool,
    /// Boot with the disk the last run left (target/disks/IMAGE-BOARD.img)
    /// instead of a fresh zero-filled one (images with a block device).
    #[arg(long, conflicts_with = "no_disk")]
    pub keep_disk: bool,
    /// End the run after SECONDS: the kernel prints what each core was
    /// running and powers off with status 104 (QEMU is killed 10 s later
    /// if it cannot). Default: no limit.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: Option<u64>,
    /// Boot without the image's disk: no virtio disk, an empty SD card slot
    /// (the block servers' "no device" and "no card" paths).
    #[arg(long)]
    pub no_disk: bool,
    /// Extra arguments appended to the QEMU command line.
    #[arg(last = true, value_name = "QEMU-ARGS")]
    pub qemu_args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Run only the QEMU cases (and smoke, HIL entries) whose name contains
    /// this text; one that matches nothing is an error.
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,
    /// Skip the host unit tests (`cargo test`).
    #[arg(long)]
    pub no_host: bool,
    /// List the QEMU cases and exit.
    #[arg(long)]
    pub list: bool,
    /// Also print the console and defmt log of the cases that pass.
    #[arg(long)]
    pub show_output: bool,
}

/// A mistake in what the user asked for: reported as one line, exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage<T>(message: String) -> Result<T, UsageError> {
    Err(UsageError(message))
}

/// A board the kernel runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Board {
    /// QEMU `virt`.
    Virt,
    /// Raspberry Pi 4 (QEMU `raspi4b`).
    Rpi4,
    /// NXP i.MX 8M Plus EVK (QEMU `imx8mp-evk`).
    Imx8mp,
}

impl Board {
    pub const ALL: [Board; 3] = [Board::Virt, Board::Rpi4, Board::Imx8mp];

    /// The name used on the command line, in images and in paths.
    pub fn name(self) -> &'static str {
        match self {
            Board::Virt => "virt",
            Board::Rpi4 => "rpi4",
            Board::Imx8mp => "imx8mp",
        }
    }

    pub fn parse(name: &str) -> Option<Board> {
        Board::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The most cores a machine of this board has (virt: the kernel's
    /// `platform::MAX_CPUS`, the largest `--smp` xtask offers; Pi 4 and
    /// i.MX 8M Plus: four).
    pub fn max_cores(self) -> u32 {
        match self {
            Board::Virt => VIRT_MAX_SMP,
            Board::Rpi4 | Board::Imx8mp => 4,
        }
    }

    /// The kernel's cargo feature for this board.
    pub fn feature(self) -> &'static str {
        match self {
            Board::Virt => "board-virt",
            Board::Rpi4 => "board-rpi4",
            Board::Imx8mp => "board-imx8mp",
        }
    }
}

impl fmt::Display for Board {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The most cores on virt: as many as the kernel describes.
const VIRT_MAX_SMP: u32 = platform::MAX_CPUS as u32;
/// The most cores a GICv2 can address (its 8-bit CPU target lists).
const GICV2_MAX_CORES: u32 = 8;
const VIRT_MIN_MEM_MIB: u64 = 128;
const VIRT_MAX_MEM_MIB: u64 = 255 * 1024;
const RPI4_MEM_MIB: u64 = 2 * 1024;
const IMX8MP_MIN_MEM_MIB: u64 = 256;
/// The EVK's first DRAM bank (3 GiB at 0x4000_0000): QEMU's `imx8mp-evk`
/// puts all of its RAM there.
const IMX8MP_MAX_MEM_MIB: u64 = 3 * 1024;

/// A validated machine configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    pub board: Board,
    pub smp: u32,
    pub cpu: String,
    /// GIC version (rpi4: 2, its GIC-400 is a GICv2).
    pub gic: u8,
    /// Entry at EL2 (always on rpi4).
    pub el2: bool,
    pub mem_mib: u64,
}

impl Machine {
    /// The board `--board` names (default virt).
    pub fn board_of(args: &MachineArgs) -> Result<Board, UsageError> {
        match args.board.as_deref() {
            None => Ok(Board::Virt),
            Some(name) => match Board::parse(name) {
                Some(board) => Ok(board),
                None => usage(format!(
                    "--board {name:?}: unknown board (known: virt, rpi4, imx8mp)"
                )),
            },
        }
    }

    /// Checks the machine flags; every failure is one line naming the flag.
    /// `--cpu` is checked against the installed QEMU's models (asked only
    /// when `--cpu` is given).
    pub fn from_args(args: &MachineArgs) -> Result<Machine, UsageError> {
        static UNASKED: CpuModels = CpuModels {
            source: String::new(),
            models: Vec::new(),
        };
        let cpus = if args.cpu.is_some() {
            CpuModels::installed()
        } else {
            &UNASKED
        };
        Self::check(args, cpus)
    }

    /// [`Machine::from_args`] against a given list of CPU models.
    pub fn check(args: &MachineArgs, cpus: &CpuModels) -> Result<Machine, UsageError> {
        let board = Self::board_of(args)?;
        let smp = match args.smp.as_deref() {
            None => 4,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) => n,
                Err(_) => return usage(format!("--smp {text:?}: not a number of cores")),
            },
        };
        if smp == 0 {
            return usage("--smp 0: at least one core is needed".to_string());
        }
        match board {
            Board::Virt => Self::virt(args, smp, cpus),
            Board::Rpi4 => Self::rpi4(args, smp),
            Board::Imx8mp => Self::imx8mp(args, smp),
        }
    }

    fn virt(args: &MachineArgs, smp: u32, cpus: &CpuModels) -> Result<Machine, UsageError> {
        if smp > VIRT_MAX_SMP {
            return usage(format!(
                "--smp {smp}: virt supports at most {VIRT_MAX_SMP} cores (the kernel's platform::MAX_CPUS)"
            ));
        }
        let cpu = match args.cpu.as_deref() {
            None => "cortex-a72".to_string(),
            Some(name) => cpus.check(name)?,
        };
        let gic = match args.gic.as_deref().map(str::trim) {
            None => 3,
            Some("2") => 2,
            Some("3") => 3,
            Some(other) => return usage(format!("--gic {other:?}: must be 2 or 3")),
        };
        if gic == 2 && smp > GICV2_MAX_CORES {
            return usage(format!(
                "--smp {smp} with --gic 2: a GICv2 addresses at most {GICV2_MAX_CORES} cores \
                 (8-bit CPU target lists); use --gic 3 for more"
            ));
        }
        let mem_mib = match args.mem.as_deref() {
            None => 1024,
            Some(text) => parse_mem_mib(text)?,
        };
        if mem_mib < VIRT_MIN_MEM_MIB {
            return usage(format!(
                "--mem {}: virt needs at least 128M",
                mem_text(args)
            ));
        }
        if mem_mib > VIRT_MAX_MEM_MIB {
            return usage(format!(
                "--mem {}: virt allows at most 255G",
                mem_text(args)
            ));
        }
        Ok(Machine {
            board: Board::Virt,
            smp,
            cpu,
            gic,
            el2: args.el2,
            mem_mib,
        })
    }

    fn rpi4(args: &MachineArgs, smp: u32) -> Result<Machine, UsageError> {
        if smp != 4 {
            return usage(format!("--smp {smp}: rpi4 (raspi4b) always has 4 cores"));
        }
        if let Some(cpu) = args.cpu.as_deref().filter(|c| *c != "cortex-a72") {
            return usage(format!(
                "--cpu {cpu:?}: rpi4 (raspi4b) is always cortex-a72"
            ));
        }
        if let Some(gic) = &args.gic {
            return usage(format!(
                "--gic {gic}: rpi4 has a fixed GIC-400 (GICv2); drop --gic"
            ));
        }
        if let Some(text) = args.mem.as_deref() {
            if parse_mem_mib(text)? != RPI4_MEM_MIB {
                return usage(format!("--mem {text}: rpi4 (raspi4b) has a fixed 2G"));
            }
        }
        Ok(Machine {
            board: Board::Rpi4,
            smp: 4,
            cpu: "cortex-a72".to_string(),
            gic: 2,
            el2: true,
            mem_mib: RPI4_MEM_MIB,
        })
    }
}

impl Machine {
    fn imx8mp(args: &MachineArgs, smp: u32) -> Result<Machine, UsageError> {
        // The DTB describes four cores, and the kernel starts every one.
        if smp != 4 {
            return usage(format!(
                "--smp {smp}: imx8mp (imx8mp-evk) always has 4 cores"
            ));
        }
        if let Some(cpu) = args.cpu.as_deref().filter(|c| *c != "cortex-a53") {
            return usage(format!(
                "--cpu {cpu:?}: imx8mp (imx8mp-evk) is always cortex-a53"
            ));
        }
        if let Some(gic) = &args.gic {
            return usage(format!("--gic {gic}: imx8mp has a fixed GICv3; drop --gic"));
        }
        let mem_mib = match args.mem.as_deref() {
            None => 1024,
            Some(text) => parse_mem_mib(text)?,
        };
        if !(IMX8MP_MIN_MEM_MIB..=IMX8MP_MAX_MEM_MIB).contains(&mem_mib) {
            return usage(format!("--mem {}: imx8mp takes 256M..=3G", mem_text(args)));
        }
        Ok(Machine {
            board: Board::Imx8mp,
            smp: 4,
            cpu: "cortex-a53".to_string(),
            gic: 3,
            el2: true,
            mem_mib,
        })
    }
}

fn mem_text(args: &MachineArgs) -> &str {
    args.mem.as_deref().unwrap_or("1G")
}

/// Parses a RAM size into MiB: `512M`, `4G`, `1024MiB`, `2GB`, `1T`; a bare
/// number is MiB, as QEMU's `-m` takes it. Case does not matter.
pub fn parse_mem_mib(text: &str) -> Result<u64, UsageError> {
    let bad = || {
        UsageError(format!(
            "--mem {text:?}: not a size (use e.g. 512M, 4G, 1024MiB)"
        ))
    };
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let number: u64 = digits.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim() {
        "" | "m" | "mb" | "mib" => 1,
        "g" | "gb" | "gib" => 1024,
        "t" | "tb" | "tib" => 1024 * 1024,
        _ => return Err(bad()),
    };
    number.checked_mul(scale).ok_or_else(bad)
}

#[cfg(test)]
mod tests;
