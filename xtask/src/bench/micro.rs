//! The kernel's micro-benchmarks (images/bench.toml, bench/tasks/bench): one
//! boot on one core under `-icount shift=0` (one instruction = one virtual
//! nanosecond), so every figure is an instruction count and repeats
//! exactly. Results go to `target/bench/<name>-<board>.json`.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::build;
use crate::cli::{Machine, MachineArgs, UsageError};
use crate::{image, qemu};

/// One benchmark: a line the bench image's task prints.
#[derive(Debug)]
pub struct Bench {
    pub name: &'static str,
    pub what: &'static str,
    /// The benchmark this one is compared with (the ratio is printed).
    baseline: Option<&'static str>,
}

/// A capability call on its cheapest complete path (bench/tasks/bench,
/// `dispatch`): the difference to `null-syscall` is printed.
const fn dispatch(name: &'static str, what: &'static str) -> Bench {
    Bench {
        name,
        what,
        baseline: None,
    }
}

/// What [`dispatch`] benchmarks are measured against.
const NULL: &str = "null-syscall";

/// Every benchmark of the `bench` image, in the order its task runs them.
pub const BENCHES: &[Bench] = &[
    Bench {
        name: "null-syscall",
        what: "Null system call round trip (seL4 anchor: 131 cycles on Cortex-A53; target <= 100)",
        baseline: None,
    },
    Bench {
        name: "cap-lookup-private",
        what: "Capability lookup (CapInfo) in the caller's private root share",
        baseline: None,
    },
    Bench {
        name: "cap-lookup-shared",
        what: "Capability lookup (CapInfo) in a shared share (takes its lock)",
        baseline: Some("cap-lookup-private"),
    },
    Bench {
        name: "cap-add-remove-private",
        what: "Capability add and remove (CapCopy into a private share, CapDelete)",
        baseline: None,
    },
    Bench {
        name: "cap-add-remove-shared",
        what:
            "Capability add and remove (CapCopy within a shared share, CapDelete; takes its lock)",
        baseline: Some("cap-add-remove-private"),
    },
    Bench {
        name: "map-touch-unmap-private",
        what: "Map, touch and unmap a 4 KiB page in the task's private address range",
        baseline: None,
    },
    Bench {
        name: "map-touch-unmap-shared",
        what: "Map, touch and unmap a 4 KiB page in a shared 2 MiB address range",
        baseline: Some("map-touch-unmap-private"),
    },
    Bench {
        name: "map-touch-unmap-private-range",
        what: "Map, touch and unmap a 4 KiB page in a private 2 MiB range (this core's, linked)",
        baseline: Some("map-touch-unmap-private"),
    },
    dispatch(
        "dispatch-cap-info",
        "CapInfo on an empty root slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-cap-copy",
        "CapCopy from an empty root slot into another (InvalidCapability)",
    ),
    dispatch(
        "dispatch-cap-copy-via",
        "CapCopy from an empty root slot into a private share's slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-cap-delete",
        "CapDelete of an empty root slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-cap-revoke",
        "CapRevoke of an empty root slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-segment-create",
        "SegmentCreate into an occupied root slot (SlotOccupied)",
    ),
    dispatch(
        "dispatch-segment-info",
        "SegmentInfo of an empty root slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-range-create",
        "RangeCreate into an occupied root slot (SlotOccupied)",
    ),
    dispatch(
        "dispatch-map",
        "Map into an empty root slot's range (InvalidCapability)",
    ),
    dispatch(
        "dispatch-unmap",
        "Unmap from an empty root slot's range (InvalidCapability)",
    ),
    dispatch(
        "dispatch-link",
        "Link of an empty root slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-unlink",
        "Unlink of an empty root slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-share-create",
        "ShareCreate into an occupied root slot (SlotOccupied)",
    ),
    dispatch(
        "dispatch-notify-create",
        "NotifyCreate into an occupied root slot (SlotOccupied)",
    ),
    dispatch(
        "dispatch-signal",
        "Signal of an empty root slot (InvalidCapability)",
    ),
    dispatch(
        "dispatch-interrupt-ack",
        "InterruptAck of an empty root slot (InvalidCapability)",
    ),
];

/// What a benchmark line says: operations, total ns, loop ns, ns per op.
#[derive(Debug, PartialEq, Eq)]
pub struct Measured {
    pub ops: u64,
    pub total_ns: u64,
    pub loop_ns: u64,
    pub per_op: u64,
}

/// Parses `20000 ops, 2020016 ns total, loop 80000 ns; 97 ns/op`.
pub fn parse_measured(rest: &str) -> Option<Measured> {
    let nums: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match nums[..] {
        [ops, total_ns, loop_ns, per_op] => Some(Measured {
            ops,
            total_ns,
            loop_ns,
            per_op,
        }),
        _ => None,
    }
}

/// Parses the events line's four counts.
pub fn parse_events(rest: &str) -> Option<[u64; 4]> {
    let nums: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    match nums[..] {
        [_ops, a, b, c, d] => Some([a, b, c, d]),
        _ => None,
    }
}

pub fn select(names: &[String]) -> Result<Vec<&'static Bench>> {
    if names.is_empty() {
        return Ok(BENCHES.iter().collect());
    }
    let mut v = Vec::new();
    for n in names {
        match BENCHES.iter().find(|b| b.name == n) {
            Some(b) => v.push(b),
            None => {
                let known: Vec<&str> = BENCHES.iter().map(|b| b.name).collect();
                return Err(UsageError(format!(
                    "unknown benchmark {n:?} (known: {})",
                    known.join(", ")
                ))
                .into());
            }
        }
    }
    Ok(v)
}

/// Boots the bench image once on one core of `board` and reports the
/// selected benchmarks (JSON in `out_dir`, a table on stdout). Returns
/// (name, instructions per op).
pub fn run(
    root: &Path,
    board: Option<&str>,
    selected: &[&Bench],
    out_dir: &Path,
) -> Result<Vec<(&'static str, u64)>> {
    measure(root, board, selected, out_dir, true)
}

/// As [`run`], printing the table only when `print`.
pub fn measure(
    root: &Path,
    board: Option<&str>,
    selected: &[&Bench],
    out_dir: &Path,
    print: bool,
) -> Result<Vec<(&'static str, u64)>> {
    // One core on virt; raspi4b always has four (the others idle in wfi,
    // which costs no instructions under -icount).
    let smp = (board != Some("rpi4")).then(|| "1".to_string());
    let machine = Machine::from_args(&MachineArgs {
        board: board.map(String::from),
        smp,
        ..MachineArgs::default()
    })?;
    let image = image::select(root, "bench", machine.board)?;
    let built = build::build(root, &image, machine.board)?;
    let spec = qemu::RunSpec::benchmark(root, &machine, &built, true);
    let result = qemu::run(&spec)?;
    let line_after = |prefix: &str| {
        result
            .console
            .lines()
            .find_map(|l| l.split_once(prefix).map(|(_, rest)| rest.to_string()))
    };
    let mut per_op = std::collections::HashMap::new();
    let mut out = Vec::new();
    if print {
        println!(
            "Micro-benchmarks on {} (one core, -icount: instructions per operation)",
            machine.board
        );
    }
    for b in selected {
        let Some(r) =
            line_after(&format!("bench {} core 0: ", b.name)).and_then(|l| parse_measured(&l))
        else {
            bail!(
                "{}: no result line in the console:\n{}",
                b.name,
                result.console
            );
        };
        let ev = line_after(&format!("bench {} events over ", b.name))
            .and_then(|l| parse_events(&l))
            .unwrap_or([0; 4]);
        per_op.insert(b.name, r.per_op);
        out.push((b.name, r.per_op));
        let json = format!(
            "{{\"name\":\"{}\",\"board\":\"{}\",\"mode\":\"icount\",\"cores\":1,\"ops\":{},\"total_instructions\":{},\"loop_instructions\":{},\"instructions_per_op\":{},\"events\":{{\"shared_locks\":{},\"broadcast_tlbi\":{},\"ipis\":{},\"global_pool_takes\":{}}}}}\n",
            b.name, machine.board, r.ops, r.total_ns, r.loop_ns, r.per_op, ev[0], ev[1], ev[2], ev[3]
        );
        let path = out_dir.join(format!("{}-{}.json", b.name, machine.board));
        std::fs::write(&path, json).with_context(|| path.display().to_string())?;
        if !print {
            continue;
        }
        println!("{}", b.what);
        let ratio = b
            .baseline
            .and_then(|base| per_op.get(base).map(|&p| (base, p)))
            .map(|(base, p)| format!("; {:.2}x {}", r.per_op as f64 / p.max(1) as f64, base))
            .unwrap_or_default();
        let beyond = match per_op.get(NULL) {
            Some(&p) if b.name.starts_with("dispatch-") => {
                format!("; {} beyond {NULL}", r.per_op as i64 - p as i64)
            }
            _ => String::new(),
        };
        println!(
            "  {:<29} {:<5} {:>6} instructions/op  events/op: {:.2} locks, {:.2} broadcast TLBI, {:.2} IPI, {:.2} pool{}{}",
            b.name,
            machine.board.name(),
            r.per_op,
            ev[0] as f64 / r.ops as f64,
            ev[1] as f64 / r.ops as f64,
            ev[2] as f64 / r.ops as f64,
            ev[3] as f64 / r.ops as f64,
            ratio,
            beyond
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_the_task_line() {
        let r = super::parse_measured("20000 ops, 2020016 ns total, loop 80000 ns; 97 ns/op");
        assert_eq!(
            r,
            Some(super::Measured {
                ops: 20000,
                total_ns: 2020016,
                loop_ns: 80000,
                per_op: 97
            })
        );
        assert_eq!(super::parse_measured("garbage"), None);
        let e = super::parse_events("2000 ops: 4000 shared-lock acquisitions, 2000 broadcast TLB invalidations, 0 IPIs, 1 global-pool takes");
        assert_eq!(e, Some([4000, 2000, 0, 1]));
    }
}
