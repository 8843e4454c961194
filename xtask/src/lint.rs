//! The `lint` entry of `cargo xtask test`: formatting and clippy, enforced.
//!
//! - `cargo fmt --all --check`;
//! - clippy with `-D warnings` on the host crates (the workspace's default
//!   members, all targets, tests included);
//! - clippy on the kernel in both builds of every board (standard and
//!   test, `build::KernelBuild`), and on every user-space crate (servers/, tests/tasks/, bench/tasks/:
//!   tasks and the libraries they link) for the kernel's target: the code that only ever runs on
//!   the board is linted as it is built.
//!
//! Clippy shares the build's target directory, so a warm run re-checks only
//! what changed.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Result;

use crate::build::{KernelBuild, TARGET};
use crate::cli::Board;

/// One lint command: what it covers, and cargo's arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct Step {
    pub what: String,
    pub args: Vec<String>,
}

fn step(what: String, args: &[&str]) -> Step {
    Step {
        what,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// The kernel builds to lint: both builds of every board (the test
/// build's code is checked whether or not an image uses it yet).
pub fn kernel_builds() -> BTreeSet<(Board, KernelBuild)> {
    let mut builds = BTreeSet::new();
    for board in Board::ALL {
        for build in KernelBuild::ALL {
            builds.insert((board, build));
        }
    }
    builds
}

/// The lint commands, in the order they run.
pub fn steps(root: &Path) -> Result<Vec<Step>> {
    let mut steps = vec![
        step("formatting".into(), &["fmt", "--all", "--check"]),
        step(
            "host crates".into(),
            &["clippy", "--all-targets", "--", "-D", "warnings"],
        ),
    ];
    for (board, build) in kernel_builds() {
        let all = build.features(board);
        steps.push(step(
            format!("kernel ({all})"),
            &[
                "clippy",
                "--release",
                "-p",
                "kernel",
                "--target",
                TARGET,
                "--features",
                &all,
                "--",
                "-D",
                "warnings",
            ],
        ));
    }
    let mut tasks = vec!["clippy", "--release", "--target", TARGET];
    let crates: Vec<String> = crate::workspace::user_crates(root)?
        .into_iter()
        .map(|c| c.name)
        .collect();
    for c in &crates {
        tasks.extend(["-p", c]);
    }
    tasks.extend(["--", "-D", "warnings"]);
    steps.push(step(
        format!(
            "{} user-space crates (servers/, tests/tasks/, bench/tasks/)",
            crates.len()
        ),
        &tasks,
    ));
    Ok(steps)
}

/// Runs every step; prints each failing one's output and one summary line.
pub fn run(root: &Path) -> bool {
    println!("running lints: cargo fmt --check, clippy -D warnings (host, kernel: both builds of each board, user-space crates)");
    let start = Instant::now();
    let steps = match steps(root) {
        Ok(steps) => steps,
        Err(e) => {
            println!("test lint ... FAILED ({e:#})");
            return false;
        }
    };
    let mut failed = Vec::new();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    for s in &steps {
        let out = Command::new(&cargo)
            .args(&s.args)
            .current_dir(root)
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                println!("---- lint: {} (cargo {}) ----", s.what, s.args.join(" "));
                print!("{}", String::from_utf8_lossy(&out.stdout));
                print!("{}", String::from_utf8_lossy(&out.stderr));
                failed.push(s.what.clone());
            }
            Err(e) => {
                println!("---- lint: {}: cannot run cargo: {e}", s.what);
                failed.push(s.what.clone());
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if failed.is_empty() {
        println!("test lint ... ok ({seconds:.1}s, {} checks)", steps.len());
        true
    } else {
        println!(
            "test lint ... FAILED ({seconds:.1}s: {}; fix with `cargo fmt --all` and the clippy output above)",
            failed.join(", ")
        );
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_crate_and_kernel_build_is_linted() {
        let root = crate::build::workspace_root();
        let crates: Vec<String> = crate::workspace::user_crates(&root)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        for c in ["ulib", "console", "blk", "hello", "capcheck", "fuzz"] {
            assert!(crates.iter().any(|x| x == c), "{c} not linted: {crates:?}");
        }
        let steps = steps(&root).unwrap();
        let lines: Vec<String> = steps.iter().map(|s| s.args.join(" ")).collect();
        assert_eq!(lines[0], "fmt --all --check");
        for needle in [
            "--features board-virt -- -D warnings",
            "--features board-rpi4 -- -D warnings",
            "--features board-virt,test-build",
            "--features board-rpi4,test-build",
            "--features board-imx8mp -- -D warnings",
            "--features board-imx8mp,test-build",
            "-p ulib",
        ] {
            assert!(
                lines.iter().any(|l| l.contains(needle)),
                "{needle}: {lines:#?}"
            );
        }
        assert!(lines
            .iter()
            .all(|l| l.ends_with("-D warnings") || l.starts_with("fmt")));
    }
}
