//! The kernel-text guard (issue 12): the `kernel-text-size` entry of
//! `cargo xtask test` builds the default image for virt and for rpi4 (the
//! builds the QEMU cases share) and fails when either kernel's text (its
//! allocated, executable sections, the `text` of the pack line) is over
//! [`LIMIT`], naming the figure. Issue 12 asks for at most 128 KiB of
//! kernel text in the default image on both boards without losing a
//! feature; docs/measurements.md (*The system-call path and the kernel's
//! size*) says where the text goes and what brought it back under.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::build::{self, Built};
use crate::cli::Board;

/// The entry's name in `cargo xtask test`.
pub const NAME: &str = "kernel-text-size";
/// The most kernel text the default image may have, in bytes.
pub const LIMIT: u64 = 128 * 1024;
/// The image whose kernel is held to it, and the boards it is checked on.
pub const IMAGE: &str = "default";
pub const BOARDS: [Board; 2] = [Board::Virt, Board::Rpi4];

/// Whether `filter` selects the entry.
pub fn selected(filter: Option<&str>) -> bool {
    filter.is_none_or(|f| NAME.contains(f))
}

/// One board's verdict: `Ok(line)` when `text` bytes are within `limit`,
/// `Err(line)` naming the figure and the limit otherwise.
pub fn check(board: Board, text: u64, limit: u64) -> Result<String, String> {
    let line = format!(
        "{board}: kernel text of image {IMAGE} {text} B ({:.1} KiB), limit {limit} B ({:.1} KiB)",
        kib(text),
        kib(limit)
    );
    if text <= limit {
        Ok(line)
    } else {
        Err(format!("{line}: {} B over", text - limit))
    }
}

fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

/// The text of the default image's kernel on `board`, built (or taken from
/// `builds`, which the QEMU cases share).
fn text_of(
    root: &Path,
    board: Board,
    builds: &mut HashMap<(String, Board), Result<Built, String>>,
) -> Result<u64> {
    let built = builds.entry((IMAGE.to_string(), board)).or_insert_with(|| {
        crate::image::select(root, IMAGE, board)
            .map_err(|e| format!("{e:#}"))
            .and_then(|i| build::build(root, &i, board).map_err(|e| format!("{e:#}")))
    });
    let built = match built {
        Ok(b) => b,
        Err(e) => anyhow::bail!("build of image {IMAGE} for {board}: {e}"),
    };
    let elf = std::fs::read(&built.elf).with_context(|| built.elf.display().to_string())?;
    Ok(build::sizes(&elf)?.text)
}

/// The test entry: prints `test NAME ... ok|FAILED` and each board's
/// figure; whether it passed.
pub fn run_entry(
    root: &Path,
    builds: &mut HashMap<(String, Board), Result<Built, String>>,
) -> bool {
    let start = Instant::now();
    let mut lines = Vec::new();
    let mut ok = true;
    for board in BOARDS {
        match text_of(root, board, builds) {
            Ok(text) => match check(board, text, LIMIT) {
                Ok(line) => lines.push(line),
                Err(line) => {
                    ok = false;
                    lines.push(format!("over the limit: {line}"));
                }
            },
            Err(e) => {
                ok = false;
                lines.push(format!("problem: {e:#}"));
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let verdict = if ok { "ok" } else { "FAILED" };
    println!("test {NAME} ... {verdict} ({secs:.1}s)");
    for line in lines {
        println!("    {line}");
    }
    if !ok {
        println!("    reproduce: cargo xtask qemu --board BOARD (the pack line's text); what costs most: llvm-nm --size-sort -S target/images/{IMAGE}/BOARD/kernel.elf");
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_the_limit_passes_and_names_the_figure() {
        let line = check(Board::Virt, LIMIT, LIMIT).expect("at the limit");
        assert!(line.contains("131072 B (128.0 KiB)"), "{line}");
    }

    #[test]
    fn one_byte_over_fails_and_says_by_how_much() {
        let line = check(Board::Rpi4, LIMIT + 1, LIMIT).expect_err("over");
        assert!(line.starts_with("rpi4:"), "{line}");
        assert!(line.contains("131073 B"), "{line}");
        assert!(line.ends_with("1 B over"), "{line}");
    }
}
