//! Unit tests of the checkers with canned console text: each check is shown
//! to pass on a good run and to fail on a bad one.

use core::time::Duration;

use super::*;
use crate::{LogLine, CASES};

fn case(expect: Expect, smp: u32) -> Case {
    Case {
        name: "t",
        smp,
        expect,
        ..Case::BASE
    }
}

fn outcome(exit: Exit, console: &str) -> Outcome {
    Outcome {
        exit,
        console: console.to_string(),
        log: Vec::new(),
        log_bytes: 0,
    }
}

const GOOD_BOOT_2: &str = "\
kernel: booting\r
core 0 online\r
core 1 online\r
all 2 cores online\r
core 1 timer ok\r
core 0 timer ok\r
";

fn problems(case: &Case, out: &Outcome) -> Vec<String> {
    check(case, out).err().unwrap_or_default()
}

fn assert_problem(case: &Case, out: &Outcome, needle: &str) {
    let found = problems(case, out);
    assert!(
        found.iter().any(|p| p.contains(needle)),
        "expected a problem containing {needle:?}, got {found:?}"
    );
}

#[test]
fn good_boot_passes() {
    let c = case(Expect::Boot, 2);
    assert_eq!(check(&c, &outcome(Exit::Code(0), GOOD_BOOT_2)), Ok(()));
}

#[test]
fn contract_lines_may_carry_detail() {
    let c = case(Expect::Boot, 2);
    let console = GOOD_BOOT_2
        .replace("core 1 timer ok", "core 1 timer ok (3 ticks)")
        .replace("core 0 online", "core 0 online, MPIDR 0x0");
    assert_eq!(check(&c, &outcome(Exit::Code(0), &console)), Ok(()));
    let console = GOOD_BOOT_2.replace("core 1 timer ok", "core 1 timer okay");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "missing `core 1 timer ok`",
    );
    let console = GOOD_BOOT_2.replace("core 1 online", "core 1 onlineish");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "missing `core 1 online`",
    );
    let console = format!("core 12 online (late)\n{GOOD_BOOT_2}");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "unexpected `core 12 online`",
    );
}

#[test]
fn boot_needs_exit_zero() {
    let c = case(Expect::Boot, 2);
    assert_problem(&c, &outcome(Exit::Code(1), GOOD_BOOT_2), "exit status 0");
    assert_problem(&c, &outcome(Exit::Timeout, GOOD_BOOT_2), "got timeout");
    assert_problem(&c, &outcome(Exit::Signal(9), GOOD_BOOT_2), "signal 9");
}

#[test]
fn boot_needs_every_core() {
    let c = case(Expect::Boot, 2);
    let console = GOOD_BOOT_2.replace("core 1 online\r\n", "");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "missing `core 1 online`",
    );
    let console = GOOD_BOOT_2.replace("core 0 timer ok", "core 0 timer failed");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "missing `core 0 timer ok`",
    );
    let console = GOOD_BOOT_2.replace("all 2 cores online", "all 1 cores online");
    let out = outcome(Exit::Code(0), &console);
    assert_problem(&c, &out, "missing `all 2 cores online`");
    assert_problem(&c, &out, "`all 1 cores online` on a 2-core machine");
}

#[test]
fn boot_checks_order_and_duplicates() {
    let c = case(Expect::Boot, 2);
    let console =
        "core 0 online\nall 2 cores online\ncore 1 online\ncore 0 timer ok\ncore 1 timer ok\n";
    assert_problem(
        &c,
        &outcome(Exit::Code(0), console),
        "`core 1 online` after `all 2 cores online`",
    );
    let console =
        "core 1 timer ok\ncore 0 online\ncore 1 online\nall 2 cores online\ncore 0 timer ok\n";
    assert_problem(
        &c,
        &outcome(Exit::Code(0), console),
        "`core 1 timer ok` before `core 1 online`",
    );
    let console = format!("{GOOD_BOOT_2}core 1 online\n");
    assert_problem(&c, &outcome(Exit::Code(0), &console), "printed 2 times");
}

#[test]
fn boot_rejects_extra_cores_and_failure_reports() {
    let c = case(Expect::Boot, 2);
    let console = format!("core 2 online\n{GOOD_BOOT_2}");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "unexpected `core 2 online`",
    );
    let console = format!("{GOOD_BOOT_2}PANIC on core 1 at a.rs:1:2: oops\n");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "unexpected failure report",
    );
    let console =
        format!("{GOOD_BOOT_2}shutdown: task hello on core 1 was still blocked in Wait\n");
    assert_problem(
        &c,
        &outcome(Exit::Code(0), &console),
        "unexpected failure report: shutdown: task hello",
    );
}

#[test]
fn panic_case() {
    let c = case(Expect::Panic("deliberate panic"), 4);
    let good = "core 0 online\nPANIC on core 2 at microkernel/kern/src/sequencer.rs:12:9: deliberate panic on a secondary core\n";
    assert_eq!(check(&c, &outcome(Exit::Code(101), good)), Ok(()));
    assert_problem(&c, &outcome(Exit::Code(0), good), "non-zero exit status");
    assert_problem(&c, &outcome(Exit::Timeout, good), "got timeout");
    assert_problem(&c, &outcome(Exit::Code(1), "core 0 online\n"), "no `PANIC");
    let other = good.replace("deliberate panic", "index out of bounds");
    assert_problem(
        &c,
        &outcome(Exit::Code(1), &other),
        "no panic message contains",
    );
    let malformed = "PANIC on core 2: deliberate panic\n";
    assert_problem(
        &c,
        &outcome(Exit::Code(1), malformed),
        "malformed panic line",
    );
    let bad_core = good.replace("core 2 at", "core 7 at");
    assert_problem(&c, &outcome(Exit::Code(1), &bad_core), "core 7 of a 4-core");
}

#[test]
fn fault_case() {
    let c = case(Expect::Fault, 4);
    let good = "core 0 online\nEXCEPTION on core 1: Data Abort (current EL)\n  ESR 0x96000004 FAR 0xdead0000 ELR 0xffffffff80001234\n";
    assert_eq!(check(&c, &outcome(Exit::Code(1), good)), Ok(()));
    assert_problem(&c, &outcome(Exit::Code(0), good), "non-zero exit status");
    assert_problem(
        &c,
        &outcome(Exit::Code(1), "core 0 online\n"),
        "no `EXCEPTION",
    );
    let no_far = good.replace("FAR", "XXX");
    assert_problem(&c, &outcome(Exit::Code(1), &no_far), "does not show FAR");
}

#[test]
fn hang_case() {
    let c = case(Expect::Hang("all 4 cores online"), 4);
    let console = "core 0 online\nall 4 cores online\n";
    assert_eq!(check(&c, &outcome(Exit::Timeout, console)), Ok(()));
    assert_problem(&c, &outcome(Exit::Code(0), console), "expected a hang");
    assert_problem(
        &c,
        &outcome(Exit::Timeout, "core 0 online\n"),
        "no line `all 4 cores online`",
    );
}

#[test]
fn defmt_expectations() {
    let want: &[LogExpect] = &[LogExpect {
        level: "INFO",
        contains: "defmt log online",
    }];
    let c = Case {
        defmt: want,
        ..case(Expect::Boot, 2)
    };
    let mut out = outcome(Exit::Code(0), GOOD_BOOT_2);
    out.log_bytes = 40;
    assert_problem(&c, &out, "no frame decoded");
    out.log.push(LogLine {
        timestamp: "0.000100 core 0".into(),
        level: "DEBUG".into(),
        message: "defmt log online".into(),
    });
    assert_problem(&c, &out, "no INFO line containing");
    out.log[0].level = "INFO".into();
    assert_eq!(check(&c, &out), Ok(()));
    out.log_bytes = 0;
    out.log.clear();
    assert_problem(&c, &out, "among 0 decoded lines (0 bytes)");
}

#[test]
fn log_line_display() {
    let line = LogLine {
        timestamp: "     1234 core 2".into(),
        level: "INFO".into(),
        message: "hello".into(),
    };
    assert_eq!(line.to_string(), "[     1234 core 2] INFO  hello");
    let bare = LogLine {
        timestamp: String::new(),
        level: String::new(),
        message: "raw".into(),
    };
    assert_eq!(bare.to_string(), "raw");
}

#[test]
fn every_table_case_can_fail() {
    // An empty console with a clean exit must fail every case in the table.
    for c in CASES {
        assert!(
            check(c, &outcome(Exit::Code(0), "")).is_err(),
            "{} passes on an empty console",
            c.name
        );
        assert!(c.timeout >= Duration::from_secs(5));
    }
}
