//! The checkers: given a case and what a run produced, list what is wrong.
//!
//! The kernel's console contract (boot stage):
//! - one line `core N online` per core, N = 0..n-1, then `all n cores online`;
//! - one line `core N timer ok` per core once its generic timer has fired;
//! - the default image then powers off with status 0;
//! - a panic prints `PANIC on core N at FILE:LINE:COL: MESSAGE` and exits
//!   non-zero; an unexpected exception prints `EXCEPTION on core N ...` with
//!   the class, ESR, FAR and ELR, then fails like a panic.
//!
//! Lines are compared after trimming surrounding whitespace (and `\r`); a
//! contract line may carry detail after it (`core 0 timer ok (3 ticks)`).

use crate::{Case, Exit, Expect, LogExpect, Outcome};

/// The kernel's exit status when the image's success condition did not
/// hold (docs/images.md, Success).
pub const VERDICT_FAILED: i32 = 103;

/// Judges one run: `Ok` if it passed, otherwise every problem found, each
/// one line.
pub fn check(case: &Case, out: &Outcome) -> Result<(), Vec<String>> {
    let lines: Vec<&str> = out.console.lines().map(str::trim).collect();
    let mut problems = Vec::new();
    match case.expect {
        Expect::Boot => {
            if out.exit != Exit::Code(0) {
                problems.push(format!("expected exit status 0, got {}", out.exit));
            }
            problems.extend(boot_contract(&lines, case.smp));
            problems.extend(no_failure_lines(&lines));
        }
        Expect::Failed(names) => {
            if out.exit != Exit::Code(VERDICT_FAILED) {
                problems.push(format!(
                    "expected exit status {VERDICT_FAILED} (the image's verdict), got {}",
                    out.exit
                ));
            }
            problems.extend(boot_contract(&lines, case.smp));
            let summary = lines
                .iter()
                .filter(|l| l.starts_with("verdict: FAILED:"))
                .collect::<Vec<_>>();
            match summary.as_slice() {
                [one] if one.contains(names) => {}
                [one] => problems.push(format!("verdict line `{one}` does not name `{names}`")),
                [] => problems.push("no `verdict: FAILED:` summary line".to_string()),
                more => problems.push(format!("{} verdict summary lines", more.len())),
            }
        }
        Expect::Panic(message) => {
            problems.extend(failed_exit(out.exit));
            problems.extend(panic_line(&lines, case.smp, message));
        }
        Expect::Fault => {
            problems.extend(failed_exit(out.exit));
            problems.extend(exception_report(&lines, case.smp));
        }
        Expect::Hang(line) => {
            if out.exit != Exit::Timeout {
                problems.push(format!(
                    "expected a hang until the timeout, got {}",
                    out.exit
                ));
            }
            if positions(&lines, line).is_empty() {
                problems.push(format!("console has no line `{line}`"));
            }
        }
    }
    for want in case.defmt {
        problems.extend(defmt_line(out, want));
    }
    if let Some(f) = case.lines {
        problems.extend(f(&lines));
    }
    for want in case.console {
        if positions(&lines, want).is_empty() {
            problems.push(format!("console has no line `{want}`"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// `line` is the contract line `want`, possibly followed by detail after a
/// space or punctuation (`core 0 timer ok (3 ticks)`, not `core 0 timer okay`).
fn is_line(line: &str, want: &str) -> bool {
    line.strip_prefix(want).is_some_and(|rest| {
        rest.chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_')
    })
}

/// Indices of the lines that are the contract line `want`.
fn positions(lines: &[&str], want: &str) -> Vec<usize> {
    (0..lines.len())
        .filter(|&i| is_line(lines[i], want))
        .collect()
}

/// The `K` of a contract line `PREFIX K SUFFIX`, if the line has that shape.
fn number_between(line: &str, prefix: &str, suffix: &str) -> Option<u32> {
    let rest = line.strip_prefix(prefix)?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let k = rest[..digits].parse().ok()?;
    is_line(&rest[digits..], suffix).then_some(k)
}

/// Every `core i online` once, `all n cores online` after them, every
/// `core i timer ok` once and after that core came online.
fn boot_contract(lines: &[&str], n: u32) -> Vec<String> {
    let mut problems = Vec::new();
    let all_line = format!("all {n} cores online");
    let all = positions(lines, &all_line);
    match all.len() {
        0 => problems.push(format!("missing `{all_line}`")),
        1 => {}
        k => problems.push(format!("`{all_line}` printed {k} times")),
    }
    for line in lines {
        if let Some(k) = number_between(line, "core ", " online").filter(|&k| k >= n) {
            problems.push(format!(
                "unexpected `core {k} online` on a {n}-core machine"
            ));
        }
        if let Some(k) = number_between(line, "all ", " cores online").filter(|&k| k != n) {
            problems.push(format!("`all {k} cores online` on a {n}-core machine"));
        }
    }
    for i in 0..n {
        let online_line = format!("core {i} online");
        let online = positions(lines, &online_line);
        match (online.first(), online.len()) {
            (None, _) => problems.push(format!("missing `{online_line}`")),
            (Some(_), k) if k > 1 => problems.push(format!("`{online_line}` printed {k} times")),
            (Some(&at), _) => {
                if all.first().is_some_and(|&all_at| at > all_at) {
                    problems.push(format!("`{online_line}` after `{all_line}`"));
                }
            }
        }
        let timer_line = format!("core {i} timer ok");
        let timer = positions(lines, &timer_line);
        match (timer.first(), timer.len()) {
            (None, _) => problems.push(format!("missing `{timer_line}`")),
            (Some(_), k) if k > 1 => problems.push(format!("`{timer_line}` printed {k} times")),
            (Some(&at), _) => {
                if online.first().is_some_and(|&online_at| at < online_at) {
                    problems.push(format!("`{timer_line}` before `{online_line}`"));
                }
            }
        }
    }
    problems
}

/// A passing boot has neither a panic nor an exception report, no task
/// reports a failure, and the shutdown found no task left blocked (a
/// deadlock) or core that did not free its tasks.
fn no_failure_lines(lines: &[&str]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            l.starts_with("PANIC")
                || l.starts_with("EXCEPTION")
                || l.contains(": FAIL")
                || l.starts_with("shutdown: ")
        })
        .map(|l| format!("unexpected failure report: {l}"))
        .collect()
}

/// A deliberate failure must end QEMU with a non-zero status, not hang.
fn failed_exit(exit: Exit) -> Option<String> {
    match exit {
        Exit::Code(code) if code != 0 => None,
        other => Some(format!("expected a non-zero exit status, got {other}")),
    }
}

/// The core number of a line starting `PREFIX N` (N followed by a space or
/// the end of the line).
fn core_of(line: &str, prefix: &str) -> Option<u32> {
    let rest = line.strip_prefix(prefix)?;
    let digits = rest.split([' ', ':']).next()?;
    digits.parse().ok()
}

/// Parses `PANIC on core N at FILE:LINE:COL: MESSAGE` into (N, MESSAGE).
fn parse_panic(line: &str) -> Option<(u32, &str)> {
    let core = core_of(line, "PANIC on core ")?;
    let rest = line.strip_prefix("PANIC on core ")?;
    let rest = rest.split_once(' ')?.1.strip_prefix("at ")?;
    let (location, message) = rest.split_once(": ")?;
    let mut parts = location.rsplitn(3, ':');
    let col = parts.next()?;
    let line_no = parts.next()?;
    let file = parts.next()?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(col) && numeric(line_no) && !file.is_empty()).then_some((core, message))
}

fn panic_line(lines: &[&str], n: u32, message: &str) -> Vec<String> {
    let panics: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("PANIC"))
        .collect();
    if panics.is_empty() {
        return vec![format!(
            "no `PANIC on core N at FILE:LINE:COL: {message}` line"
        )];
    }
    let mut problems = Vec::new();
    for line in &panics {
        match parse_panic(line) {
            None => problems.push(format!(
                "malformed panic line (want `PANIC on core N at FILE:LINE:COL: MESSAGE`): {line}"
            )),
            Some((core, _)) if core >= n => problems.push(format!(
                "panic on core {core} of a {n}-core machine: {line}"
            )),
            Some(_) => {}
        }
    }
    let found = panics
        .iter()
        .any(|l| parse_panic(l).is_some_and(|(_, m)| m.contains(message)));
    if !found {
        problems.push(format!("no panic message contains \"{message}\""));
    }
    problems
}

fn exception_report(lines: &[&str], n: u32) -> Vec<String> {
    let Some(at) = lines
        .iter()
        .position(|l| l.starts_with("EXCEPTION on core"))
    else {
        return vec!["no `EXCEPTION on core N` line".to_string()];
    };
    let mut problems = Vec::new();
    match core_of(lines[at], "EXCEPTION on core ") {
        Some(core) if core < n => {}
        Some(core) => problems.push(format!("exception on core {core} of a {n}-core machine")),
        None => problems.push(format!("malformed exception line: {}", lines[at])),
    }
    let report = lines[at..].join("\n");
    for register in ["ESR", "FAR", "ELR"] {
        if !report.contains(register) {
            problems.push(format!("exception report does not show {register}"));
        }
    }
    problems
}

fn defmt_line(out: &Outcome, want: &LogExpect) -> Option<String> {
    let found = out
        .log
        .iter()
        .any(|l| l.level == want.level && l.message.contains(want.contains));
    if found {
        None
    } else if out.log.is_empty() && out.log_bytes > 0 {
        Some(format!(
            "defmt: {} bytes arrived on the log UART but no frame decoded \
             (is defmt.x linked? does the ELF match?), wanted {} \"{}\"",
            out.log_bytes, want.level, want.contains
        ))
    } else {
        Some(format!(
            "defmt: no {} line containing \"{}\" among {} decoded lines ({} bytes)",
            want.level,
            want.contains,
            out.log.len(),
            out.log_bytes
        ))
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
