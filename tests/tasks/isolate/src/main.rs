//! Register isolation between tasks of one core (images/isolation.toml).
//!
//! Every instance records, first thing at entry (before any Rust code can
//! change a register), x0-x30, NZCV, TPIDR_EL0 and TPIDRRO_EL0, and checks
//! that everything but the kernel's x0-x2 (core, slot, restarts) is zero.
//! Then, by slot on core 1:
//!
//! - slot 0 (A) writes [`A_TLS`] to TPIDR_EL0 and keeps running (polling)
//!   until B says it ran: B was entered by a time-slice switch away from A.
//!   A checks its TPIDR_EL0 survived B, tells B, and executes a SIMD/FP
//!   instruction: FP is not available to tasks, so it traps and the task
//!   is stopped like any faulting task; the supervisor restarts it, and the
//!   new instance must again start zeroed (not with A's TPIDR_EL0).
//! - slot 1 (B) writes [`B_TLS`], tells A, waits (polling) for A's answer
//!   and checks its own value survived A.
//! - slot 2 (C) reads FPCR (an FP register: it traps too), is restarted,
//!   and starts zeroed.
//!
//! A failed check prints a line with `: FAIL`, which fails the test case.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::{asm, global_asm};
use core::fmt::Write;
use ulib::cap::{poll, signal};
use ulib::{println, CPtr};

/// Image grants (images/isolation.toml), in file order from slot 2: the
/// notification A polls and the one B polls.
const TO_A: CPtr = CPtr::root(2);
const TO_B: CPtr = CPtr::root(3);

const A_TLS: u64 = 0x5ec7_e700_0000_0001;
const B_TLS: u64 = 0x0b0b_0b0b_0000_0002;

/// Saved at entry: x0-x30, NZCV, TPIDR_EL0, TPIDRRO_EL0.
const SAVED: usize = 34;
const NZCV: usize = 31;
const TPIDR: usize = 32;
const TPIDRRO: usize = 33;

// The entry point: the registers go to the stack before anything else
// runs (`sub` without `s` leaves the flags alone), then `isolate_start`
// gets their address.
global_asm!(
    ".section .text.start, \"ax\"",
    ".global _start",
    "_start:",
    "    sub sp, sp, #(34 * 8)",
    "    stp x0, x1, [sp, #0]",
    "    stp x2, x3, [sp, #16]",
    "    stp x4, x5, [sp, #32]",
    "    stp x6, x7, [sp, #48]",
    "    stp x8, x9, [sp, #64]",
    "    stp x10, x11, [sp, #80]",
    "    stp x12, x13, [sp, #96]",
    "    stp x14, x15, [sp, #112]",
    "    stp x16, x17, [sp, #128]",
    "    stp x18, x19, [sp, #144]",
    "    stp x20, x21, [sp, #160]",
    "    stp x22, x23, [sp, #176]",
    "    stp x24, x25, [sp, #192]",
    "    stp x26, x27, [sp, #208]",
    "    stp x28, x29, [sp, #224]",
    "    mrs x9, nzcv",
    "    stp x30, x9, [sp, #240]",
    "    mrs x9, tpidr_el0",
    "    mrs x10, tpidrro_el0",
    "    stp x9, x10, [sp, #256]",
    "    mov x0, sp",
    "    bl isolate_start",
    "    b .",
);

fn tpidr() -> u64 {
    let v: u64;
    // Safety: reads this task's own thread register.
    unsafe { asm!("mrs {0}, tpidr_el0", out(reg) v, options(nomem, nostack)) };
    v
}

fn set_tpidr(v: u64) {
    // Safety: writes this task's own thread register (no Rust code here
    // uses it).
    unsafe { asm!("msr tpidr_el0, {0}", in(reg) v, options(nomem, nostack)) };
}

/// Polls the notification in `at` until a bit comes, staying runnable (so
/// the other task runs only when the time slice ends).
fn spin_for(at: CPtr) {
    while poll(at) == Ok(0) {
        core::hint::spin_loop();
    }
}

#[no_mangle]
extern "C" fn isolate_start(saved: *const [u64; SAVED]) -> ! {
    // Safety: `_start` stored the whole array on the stack just above the
    // frame of this function, which never returns.
    let saved = unsafe { *saved };
    let (core, slot, restarts) = (saved[0], saved[1], saved[2]);
    let me = if slot == 0 {
        "A"
    } else if slot == 1 {
        "B"
    } else {
        "C"
    };
    let mut clean = true;
    for (i, &v) in saved.iter().enumerate().skip(3) {
        if v != 0 {
            clean = false;
            let mut reg = ulib::Line::new();
            let _ = match i {
                NZCV => reg.write_str("nzcv"),
                TPIDR => reg.write_str("tpidr_el0"),
                TPIDRRO => reg.write_str("tpidrro_el0"),
                _ => write!(reg, "x{}", i),
            };
            println!(
                "isolate {} (restart {}): {} = {:#x} at entry: FAIL",
                me,
                restarts,
                reg.as_str(),
                v
            );
        }
    }
    if clean {
        println!(
            "isolate {} on core {} (restart {}): registers zero at entry",
            me, core, restarts
        );
    }
    if restarts > 0 {
        ulib::exit(0);
    }
    match slot {
        0 => {
            set_tpidr(A_TLS);
            spin_for(TO_A);
            let v = tpidr();
            if v == A_TLS {
                println!("isolate A: tpidr_el0 kept across a switch to B");
            } else {
                println!("isolate A: tpidr_el0 = {:#x} after B ran: FAIL", v);
            }
            let _ = signal(TO_B, 1);
            println!("isolate A: using SIMD/FP");
            // `fmov d0, xzr`, encoded by hand: the task target has no FP.
            // Safety: the trap under test: FP/SIMD is not enabled for EL0,
            // the kernel stops this task here.
            unsafe { asm!(".inst 0x9e6703e0", options(nomem, nostack)) };
            println!("isolate A: SIMD/FP did not trap: FAIL");
            ulib::exit(1)
        }
        1 => {
            set_tpidr(B_TLS);
            let _ = signal(TO_A, 1);
            spin_for(TO_B);
            let v = tpidr();
            if v == B_TLS {
                println!("isolate B: tpidr_el0 kept across a switch to A");
            } else {
                println!("isolate B: tpidr_el0 = {:#x} after A ran: FAIL", v);
            }
            ulib::exit(0)
        }
        _ => {
            println!("isolate C: reading FPCR");
            let v: u64;
            // FPCR by its encoding (op0 3, op1 3, CRn 4, CRm 4, op2 0).
            // Safety: the trap under test, as A's.
            unsafe { asm!("mrs {0}, s3_3_c4_c4_0", out(reg) v, options(nomem, nostack)) };
            println!("isolate C: FPCR read {:#x} without a trap: FAIL", v);
            ulib::exit(1)
        }
    }
}
