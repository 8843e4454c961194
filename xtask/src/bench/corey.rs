//! Our side of Corey's evaluation: the benchmarks, the image that runs
//! them (`bench/tasks/corey`, `images/corey.toml`), one boot per core count
//! and run, and the checks of what a boot printed.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use qemu_tests::Exit;

use crate::build::{self, Built};
use crate::cli::{Board, Machine};
use crate::linux::run::{parse_console, Mode, ResultLine};
use crate::{image, linux, qemu};

/// One of Corey's benchmarks, ours beside the Linux peer's workload of the
/// same name.
#[derive(Debug)]
pub struct CoreyBench {
    pub name: &'static str,
    pub what: &'static str,
    pub unit: &'static str,
    /// Whether our side exists yet (the image for the board is [`image`]).
    pub ours: bool,
    /// (our variant, the Linux peer's variant it is compared with).
    pub pairs: &'static [(&'static str, &'static str)],
}

/// The benchmarks, in the order the summary shows them.
pub const COREY: &[CoreyBench] = &[
    CoreyBench {
        name: "memclone",
        what: "each core makes, maps and writes its own 16 MiB: private ranges vs one shared range",
        unit: "pages/s",
        ours: true,
        pairs: &[("private", "procs"), ("shared", "threads")],
    },
    CoreyBench {
        name: "mempass",
        what: "one 16 MiB buffer handed from core to core, each writing every page",
        unit: "pages/s",
        ours: true,
        pairs: &[("private", "procs"), ("shared", "threads")],
    },
    CoreyBench {
        name: "shares",
        what: "add + remove a capability (Linux: dup + close): a private share vs one global shared share",
        unit: "ops/s",
        ours: true,
        pairs: &[("private", "procs"), ("shared", "threads")],
    },
    // The hook for issue 4: once the console and block servers exist, an
    // image `corey-kernelcore` with them on a kernel core and client tasks
    // printing `RESULT name=kernelcore mode=kernel-core|in-kernel ...`
    // makes this `ours: true` (and [`image`] names that image for it).
    CoreyBench {
        name: "kernelcore",
        what: "console and block requests from N client cores: kernel core vs in-kernel driver",
        unit: "requests/s",
        ours: false,
        pairs: &[("kernel-core", "pipe"), ("in-kernel", "pipe")],
    },
    CoreyBench {
        name: "wordcount",
        what: "Metis-style MapReduce word count of 400 000 words (seed 42), checked on the host",
        unit: "words/s",
        ours: true,
        pairs: &[("metis", "pthreads")],
    },
];

/// The image that runs `b` on `board`.
pub fn image(b: &CoreyBench, board: Board) -> &'static str {
    match (b.name, board) {
        ("kernelcore", _) => "corey-kernelcore",
        (_, Board::Virt) => "corey",
        (_, Board::Rpi4) => "corey-rpi4",
        // Refused before any image is chosen (bench::Plan::from_args).
        (_, Board::Imx8mp) => "corey-imx8mp",
    }
}

/// A boot of ours is killed after this long (a full icount boot at 8
/// cores takes a few seconds here; MTTCG at 8 cores on 2 host cores, a
/// few tens).
const TIMEOUT: Duration = Duration::from_secs(600);

pub fn find(name: &str) -> Option<&'static CoreyBench> {
    COREY.iter().find(|b| b.name == name)
}

/// Builds each image the benchmarks need once (reusing `builds`).
pub fn build_images(
    root: &Path,
    benches: &[&CoreyBench],
    board: Board,
    builds: &mut HashMap<(String, Board), Result<Built, String>>,
) -> Result<()> {
    for b in benches.iter().filter(|b| b.ours) {
        let name = image(b, board).to_string();
        if !builds.contains_key(&(name.clone(), board)) {
            let img = image::select(root, &name, board)?;
            let built = build::build(root, &img, board).map_err(|e| format!("{e:#}"));
            builds.insert((name, board), built);
        }
    }
    Ok(())
}

/// Boots `built` once on `machine` and returns the checked results of
/// `benches` (those of its image).
pub fn boot(
    root: &Path,
    machine: &Machine,
    built: &Built,
    mode: Mode,
    benches: &[&CoreyBench],
) -> Result<Vec<ResultLine>> {
    let extra: Vec<String> = match mode {
        Mode::Icount => Vec::new(),
        Mode::Mttcg => ["-accel", "tcg,thread=multi"].map(String::from).to_vec(),
    };
    let spec = qemu::RunSpec {
        root,
        machine,
        built,
        interactive: false,
        gdb: false,
        icount: mode == Mode::Icount,
        extra: &extra,
        timeout: Some(TIMEOUT),
    };
    let run = qemu::run(&spec)?;
    check_boot(&run.console, run.exit, benches, machine.smp).map_err(|e| {
        e.context(format!(
            "our benchmarks at {} cores ({}); console:\n{}",
            machine.smp,
            mode.name(),
            run.console.trim_end()
        ))
    })
}

/// The results of one boot, once it ended well: exit 0 after `corey:
/// done`, no failure, every variant of `benches` reported once at `cores`
/// with ops and ns above 0, and the word count equal to the host's.
pub fn check_boot(
    console: &str,
    exit: Exit,
    benches: &[&CoreyBench],
    cores: u32,
) -> Result<Vec<ResultLine>> {
    if exit != Exit::Code(0) {
        bail!("QEMU ended with {exit}");
    }
    if let Some(fail) = console.lines().find(|l| l.contains("FAIL")) {
        bail!("a task failed: {}", fail.trim());
    }
    if !console.contains("corey: done") {
        bail!("no `corey: done` line");
    }
    let (results, _) = parse_console(console);
    let mut out = Vec::new();
    for b in benches.iter().filter(|b| b.ours) {
        for (variant, _) in b.pairs {
            let mine: Vec<&ResultLine> = results
                .iter()
                .filter(|r| r.name == b.name && r.variant == *variant)
                .collect();
            let [r] = mine[..] else {
                bail!("{} results for {}/{variant}", mine.len(), b.name);
            };
            if r.cores != cores || r.ops == 0 || r.ns == 0 {
                bail!(
                    "malformed result for {}/{variant} on {cores} cores: cores={} ops={} ns={}",
                    b.name,
                    r.cores,
                    r.ops,
                    r.ns
                );
            }
            if b.name == "wordcount" {
                linux::check_wordcount(r)?;
            }
            out.push(r.clone());
        }
    }
    Ok(out)
}

/// The four event counts a result line carries (shared-lock acquisitions,
/// broadcast TLBIs, IPIs, global-pool takes), summed over the cores.
pub fn events(r: &ResultLine) -> Result<[u64; 4]> {
    let mut out = [0; 4];
    for (slot, key) in out.iter_mut().zip(["locks", "tlbi", "ipis", "pool"]) {
        *slot = r
            .extra
            .get(key)
            .with_context(|| format!("{}: no {key}= in the result", r.name))?
            .parse()
            .with_context(|| format!("{}: {key}= is not a number", r.name))?;
    }
    Ok(out)
}
