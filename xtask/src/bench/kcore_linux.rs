//! The console kernel core's Linux peer, in the same shape
//! (`bench/linux/kcconsole.c`: 4 vCPUs, a console server thread pinned to
//! the last, 1-3 pinned clients, each request a console line the server
//! writes to the console, then answers), on both Linux kernel
//! configurations. Its rows join `cargo xtask bench kernelcore`'s table.

use std::path::Path;

use anyhow::{Context, Result};

use crate::bench::kcore::Sample;
use crate::cli::{Machine, MachineArgs};
use crate::linux::run::Mode;
use crate::linux::{self, Tuning};

/// The Linux rows: (sample, instructions per request under icount or 0,
/// requests per second of each MTTCG run), variants
/// `linux-KERNEL-console-rtt` and `linux-KERNEL-console-stream`.
pub fn rows(root: &Path, icount: bool, runs: usize) -> Result<Vec<(Sample, u64, Vec<f64>)>> {
    let kc = linux::WORKLOADS
        .iter()
        .find(|w| w.name == "kcconsole")
        .context("no kcconsole workload")?;
    let machine = Machine::from_args(&MachineArgs {
        board: Some("virt".into()),
        smp: Some("4".into()),
        ..MachineArgs::default()
    })?;
    let mut out: Vec<(Sample, u64, Vec<f64>)> = Vec::new();
    let modes = [(icount, Mode::Icount, 1), (runs > 0, Mode::Mttcg, runs)];
    for (_, mode, n) in modes.into_iter().filter(|m| m.0) {
        let plan = linux::Plan {
            workloads: vec![kc],
            machines: vec![machine.clone()],
            mode,
            runs: n as u32,
            kernels: Tuning::ALL.to_vec(),
        };
        for s in linux::run_plan(root, &plan)? {
            let Some((part, clients)) = s.variant.split_once('-') else {
                continue;
            };
            let clients: u32 = clients.parse().context("kcconsole variant")?;
            let variant = format!("linux-{}-console-{part}", s.kernel);
            let ops = s.ops.first().copied().unwrap_or(0);
            let at = out
                .iter()
                .position(|(r, _, _)| r.variant == variant && r.clients == clients);
            let at = match at {
                Some(i) => i,
                None => {
                    out.push((
                        Sample {
                            variant,
                            clients,
                            requests: ops,
                            span_ns: s.ns.first().copied().unwrap_or(0),
                            // One span over every client (the program
                            // takes the union itself).
                            overlap: true,
                            instr: None,
                        },
                        0,
                        Vec::new(),
                    ));
                    out.len() - 1
                }
            };
            match mode {
                Mode::Icount => out[at].1 = s.ns[0] / s.ops[0].max(1),
                Mode::Mttcg => out[at].2.extend(s.values()),
            }
        }
    }
    Ok(out)
}
