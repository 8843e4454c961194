//! Measuring for `cargo xtask bench`: our image booted once per core
//! count and run, and the Linux peer (`linux::run_plan`) likewise, every
//! result gathered into one list of series.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::bench::corey::{self as corey, CoreyBench};
use crate::bench::report::{add, Measured, Peer};
use crate::bench::{Plan, Progress};
use crate::build::Built;
use crate::cli::Board;
use crate::linux;
use crate::linux::run::ResultLine;

fn built<'a>(
    builds: &'a HashMap<(String, Board), Result<Built, String>>,
    image: &str,
    board: Board,
) -> Result<&'a Built> {
    match builds.get(&(image.to_string(), board)) {
        Some(Ok(b)) => Ok(b),
        Some(Err(e)) => anyhow::bail!("image {image} for {board}: {e}"),
        None => anyhow::bail!("image {image} for {board} was not built"),
    }
}

pub fn ours(
    root: &Path,
    plan: &Plan,
    progress: &mut Progress,
    builds: &mut HashMap<(String, Board), Result<Built, String>>,
    all: &mut Vec<Measured>,
) -> Result<()> {
    let ours = plan.ours();
    corey::build_images(root, &ours, plan.board, builds)?;
    for image in plan.images() {
        let benches: Vec<&CoreyBench> = ours
            .iter()
            .copied()
            .filter(|b| corey::image(b, plan.board) == image)
            .collect();
        let built = built(builds, image, plan.board)?;
        for m in &plan.machines {
            for k in 1..=plan.runs {
                progress.step(&format!(
                    "ours ({image}) on {} cores, {}, run {k}/{}",
                    m.smp,
                    plan.mode.name(),
                    plan.runs
                ));
                for r in corey::boot(root, m, built, plan.mode, &benches)? {
                    let ev = corey::events(&r)?;
                    let unit = corey::find(&r.name).map_or("ops/s", |b| b.unit);
                    add(all, Peer::Ours, r, plan.mode, unit, Some(ev));
                }
            }
        }
    }
    Ok(())
}

pub fn linux(
    root: &Path,
    plan: &Plan,
    progress: &mut Progress,
    all: &mut Vec<Measured>,
    out_dir: &Path,
) -> Result<()> {
    let workloads: Vec<&'static linux::Workload> = plan
        .corey
        .iter()
        .filter_map(|b| linux::WORKLOADS.iter().find(|w| w.name == b.name))
        .collect();
    for m in &plan.machines {
        for k in 1..=plan.runs {
            progress.step(&format!(
                "Linux peer (tuned and default kernels) on {} cores, {}, run {k}/{}",
                m.smp,
                plan.mode.name(),
                plan.runs
            ));
            let one = linux::Plan {
                workloads: workloads.clone(),
                machines: vec![m.clone()],
                mode: plan.mode,
                runs: 1,
                kernels: linux::Tuning::ALL.to_vec(),
            };
            for s in linux::run_plan(root, &one)? {
                let kernel = linux::Tuning::ALL
                    .into_iter()
                    .find(|t| t.name() == s.kernel)
                    .context("a Linux series without its kernel configuration")?;
                for (&ops, &ns) in s.ops.iter().zip(&s.ns) {
                    let r = ResultLine {
                        name: s.benchmark.clone(),
                        variant: s.variant.clone(),
                        cores: s.cores,
                        ops,
                        ns,
                        extra: Default::default(),
                    };
                    add(all, Peer::Linux(kernel), r, plan.mode, s.unit, None);
                }
            }
        }
    }
    // run_plan wrote each boot's series alone: write them all together.
    for w in &workloads {
        let series: Vec<&crate::linux::report::Series> = all
            .iter()
            .filter(|m| matches!(m.peer, Peer::Linux(_)) && m.series.benchmark == w.name)
            .map(|m| &m.series)
            .collect();
        let path = out_dir.join(format!("linux-{}.json", w.name));
        std::fs::write(
            &path,
            crate::linux::report::file_json(w, plan.mode, &series),
        )
        .with_context(|| path.display().to_string())?;
    }
    Ok(())
}
