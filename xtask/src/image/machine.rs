//! Which machines an image runs on: its `[machine]` entry, the defaults it
//! gives `--smp` and `--mem`, and the checks made before anything is built
//! (docs/images.md, Machine shapes).

use std::path::Path;

use anyhow::Result;

use super::{select, Image, MachineEntry, MachineSpec};
use crate::cli::{Board, Machine, UsageError};

/// The machine and image `args` ask for: the image's `[machine]` fills in
/// `--smp` and `--mem` where they are not given, then both are checked
/// against each other ([`check_machine`]) before anything is built.
pub fn resolve(root: &Path, args: &crate::cli::MachineArgs) -> Result<(Machine, Image)> {
    let board = Machine::board_of(args)?;
    let name = args.image.as_deref().unwrap_or("default");
    let image = select(root, name, board)?;
    let mut args = args.clone();
    if args.smp.is_none() && board == Board::Virt {
        args.smp = image.machine.smp.map(|n| n.to_string());
    }
    if args.mem.is_none() && board == Board::Virt {
        args.mem = image.machine.mem_mib.map(|m| format!("{m}M"));
    }
    let machine = Machine::from_args(&args)?;
    check_machine(&image, &machine)?;
    Ok((machine, image))
}

/// Checks `[machine]`.
pub(super) fn check_machine_entry(
    m: &MachineEntry,
    boards: &[Board],
) -> Result<MachineSpec, String> {
    if let Some(smp) = m.smp {
        for b in boards {
            if smp == 0 || smp > b.max_cores() {
                return Err(format!(
                    "machine.smp {smp}: {b} has 1 to {} cores",
                    b.max_cores()
                ));
            }
        }
    }
    let mem_mib = match &m.mem {
        None => None,
        Some(text) => Some(
            crate::cli::parse_mem_mib(text)
                .map_err(|_| format!("machine.mem {text:?}: not a size (e.g. 512M, 4G)"))?,
        ),
    };
    Ok(MachineSpec {
        smp: m.smp,
        mem_mib,
    })
}

/// RAM the kernel and the tasks need besides the image's shared ranges
/// (which are backed by frames when they are made): the kernel, its
/// tables and stacks, and every task's program, stack and tables.
const RESERVE_MIB: u64 = 128;

/// Checks that `image` can run on `machine`: every core a non-optional task
/// or a kernel core names exists, its `[machine]` memory (if any) is the
/// machine's, and its shared ranges fit in RAM. One line naming the image
/// and what to change.
pub fn check_machine(image: &Image, machine: &Machine) -> Result<(), UsageError> {
    let name = &image.name;
    let cores = machine.smp;
    // Kernel cores first: their server cannot be optional, so the advice
    // differs.
    if let Some(&k) = image.kernel_cores.iter().find(|&&k| k >= cores) {
        return Err(UsageError(format!(
            "image {name}: kernel core {k} does not exist on a {cores}-core machine (use --smp {} or more)",
            k + 1
        )));
    }
    for t in image.tasks.iter().filter(|t| !t.optional) {
        if t.core >= cores {
            return Err(UsageError(format!(
                "image {name}: task {} runs on core {} but the machine has {cores} core{} \
                 (use --smp {} or more, or mark the task `optional = true` in images/{name}.toml)",
                t.name,
                t.core,
                if cores == 1 { "" } else { "s" },
                t.core + 1
            )));
        }
    }
    if machine.board == Board::Virt {
        if let Some(mem) = image.machine.mem_mib {
            if mem != machine.mem_mib {
                return Err(UsageError(format!(
                    "image {name}: runs only with --mem {mem}M (images/{name}.toml [machine] mem), not {}M",
                    machine.mem_mib
                )));
            }
        }
    }
    let ranges_mib: u64 = image.ranges.iter().map(|r| r.size >> 20).sum();
    if ranges_mib + RESERVE_MIB > machine.mem_mib {
        return Err(UsageError(format!(
            "image {name}: its shared ranges take {ranges_mib} MiB of RAM, and the kernel and tasks \
             need {RESERVE_MIB} MiB more: {} MiB do not hold them (use --mem {}M or more)",
            machine.mem_mib,
            ranges_mib + RESERVE_MIB
        )));
    }
    Ok(())
}
