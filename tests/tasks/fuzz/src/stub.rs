//! Every system call the fuzzer makes goes through [`Sys::call`]: an
//! assembly stub loads every general register the call does not take as
//! an argument (x4..x30 besides those, x8 the call number) with random
//! values, NZCV with random flags and TPIDR_EL0 with a random word, makes
//! the call, and stores what came back. The kernel must preserve all of
//! them (docs/syscalls.md: only x0..x3 carry results), and SP_EL0.

use crate::rng::Rng;
use core::arch::{asm, global_asm};

/// Words of the stub's block: x0..x30 going in, x0..x30 coming back,
/// NZCV in and out, SP before and after.
const WORDS: usize = 66;
const OUT: usize = 31;
const NZCV_IN: usize = 62;
const NZCV_OUT: usize = 63;
const SP_IN: usize = 64;
const SP_OUT: usize = 65;

global_asm!(
    ".section .text.fuzz_svc, \"ax\"",
    ".global fuzz_svc",
    "fuzz_svc:",
    "    stp x29, x30, [sp, #-96]!",
    "    stp x19, x20, [sp, #16]",
    "    stp x21, x22, [sp, #32]",
    "    stp x23, x24, [sp, #48]",
    "    stp x25, x26, [sp, #64]",
    "    stp x27, x28, [sp, #80]",
    "    sub sp, sp, #256",
    "    str x0, [sp, #248]",
    "    mov x1, sp",
    "    str x1, [x0, #512]",
    "    ldr x1, [x0, #496]",
    "    msr nzcv, x1",
    "    ldp x2, x3, [x0, #16]",
    "    ldp x4, x5, [x0, #32]",
    "    ldp x6, x7, [x0, #48]",
    "    ldp x8, x9, [x0, #64]",
    "    ldp x10, x11, [x0, #80]",
    "    ldp x12, x13, [x0, #96]",
    "    ldp x14, x15, [x0, #112]",
    "    ldp x16, x17, [x0, #128]",
    "    ldp x18, x19, [x0, #144]",
    "    ldp x20, x21, [x0, #160]",
    "    ldp x22, x23, [x0, #176]",
    "    ldp x24, x25, [x0, #192]",
    "    ldp x26, x27, [x0, #208]",
    "    ldp x28, x29, [x0, #224]",
    "    ldr x30, [x0, #240]",
    "    ldr x1, [x0, #8]",
    "    ldr x0, [x0]",
    "    svc #0",
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
    "    str x30, [sp, #240]",
    "    mrs x1, nzcv",
    "    ldr x0, [sp, #248]",
    "    str x1, [x0, #504]",
    "    mov x1, sp",
    "    str x1, [x0, #520]",
    "    mov x2, #0",
    "1:  ldr x3, [sp, x2, lsl #3]",
    "    add x4, x2, #31",
    "    str x3, [x0, x4, lsl #3]",
    "    add x2, x2, #1",
    "    cmp x2, #31",
    "    b.ne 1b",
    "    add sp, sp, #256",
    "    ldp x19, x20, [sp, #16]",
    "    ldp x21, x22, [sp, #32]",
    "    ldp x23, x24, [sp, #48]",
    "    ldp x25, x26, [sp, #64]",
    "    ldp x27, x28, [sp, #80]",
    "    ldp x29, x30, [sp], #96",
    "    ret",
);

extern "C" {
    /// Makes the call the block describes (see the module's doc).
    fn fuzz_svc(block: *mut [u64; WORDS]);
}

/// Result statuses counted: 0 (success), the 15 error codes, anything else.
pub const STATUSES: usize = 17;

/// The calls made, their statuses, and the failures found.
pub struct Sys {
    pub core: usize,
    pub calls: u64,
    pub statuses: [u64; STATUSES],
    pub failures: u64,
    /// Registers, flags or stack pointers found changed.
    pub clobbers: u64,
    /// Results checked against what the arguments decide.
    pub checked: u64,
    /// Pages the model wrote and read back where it mapped them.
    pub touched: u64,
    patterns: Rng,
}

/// Failure lines printed (the rest are counted).
const SHOWN: u64 = 12;

impl Sys {
    pub fn new(core: usize, seed: u64) -> Sys {
        Sys {
            core,
            calls: 0,
            statuses: [0; STATUSES],
            failures: 0,
            clobbers: 0,
            checked: 0,
            touched: 0,
            patterns: Rng::new(seed ^ 0x5157_2e9a_31c0_77d1),
        }
    }

    /// Makes call `n` with `a`; returns x0..x3. Checks the preserved
    /// registers.
    pub fn call(&mut self, n: u64, a: [u64; 6]) -> [u64; 4] {
        let mut b = [0u64; WORDS];
        for w in b.iter_mut().take(OUT) {
            *w = self.patterns.next();
        }
        b[..6].copy_from_slice(&a);
        b[8] = n;
        b[NZCV_IN] = self.patterns.next() & 0xf000_0000;
        let tp_in = self.patterns.next();
        let tp_out: u64;
        // Safety: TPIDR_EL0 is this task's own register (the kernel keeps
        // it per task); `b` is a live, writable block of WORDS words, the
        // layout fuzz_svc reads and writes; fuzz_svc saves and restores
        // every callee-saved register it loads, and the kernel preserves
        // the rest of the task's state across `svc`.
        unsafe {
            asm!("msr tpidr_el0, {0}", in(reg) tp_in, options(nomem, nostack));
            fuzz_svc(&mut b);
            asm!("mrs {0}, tpidr_el0", out(reg) tp_out, options(nomem, nostack));
        }
        self.calls += 1;
        let status = b[OUT];
        self.statuses[(status as usize).min(STATUSES - 1)] += 1;
        for i in 4..OUT {
            if b[OUT + i] != b[i] {
                self.clobber(
                    n,
                    a,
                    format_args!("x{} {:#x} -> {:#x}", i, b[i], b[OUT + i]),
                );
            }
        }
        if b[NZCV_OUT] != b[NZCV_IN] {
            let (i, o) = (b[NZCV_IN], b[NZCV_OUT]);
            self.clobber(n, a, format_args!("nzcv {:#x} -> {:#x}", i, o));
        }
        if b[SP_OUT] != b[SP_IN] {
            let (i, o) = (b[SP_IN], b[SP_OUT]);
            self.clobber(n, a, format_args!("sp {:#x} -> {:#x}", i, o));
        }
        if tp_out != tp_in {
            self.clobber(
                n,
                a,
                format_args!("tpidr_el0 {:#x} -> {:#x}", tp_in, tp_out),
            );
        }
        if status >= STATUSES as u64 - 1 {
            self.fail(n, a, format_args!("status {:#x} is no error code", status));
        }
        [b[OUT], b[OUT + 1], b[OUT + 2], b[OUT + 3]]
    }

    /// Makes the call and checks its status is `want`.
    pub fn expect(&mut self, n: u64, a: [u64; 6], want: u64) -> [u64; 4] {
        let r = self.call(n, a);
        self.judge(n, a, r[0], &[want]);
        r
    }

    /// Makes the call and checks its status is one of `allowed`.
    pub fn expect_any(&mut self, n: u64, a: [u64; 6], allowed: &[u64]) -> [u64; 4] {
        let r = self.call(n, a);
        self.judge(n, a, r[0], allowed);
        r
    }

    /// Checks a status the caller got from call `n` with `a`.
    pub fn judge(&mut self, n: u64, a: [u64; 6], got: u64, allowed: &[u64]) {
        self.checked += 1;
        if !allowed.contains(&got) {
            self.fail(
                n,
                a,
                format_args!("status {} ({}), want one of {:?}", got, name(got), allowed),
            );
        }
    }

    fn clobber(&mut self, n: u64, a: [u64; 6], what: core::fmt::Arguments) {
        self.clobbers += 1;
        self.fail(n, a, format_args!("changed {}", what));
    }

    /// A wrong result of call `n` with `a`: counted, and the first few said.
    pub fn fail(&mut self, n: u64, a: [u64; 6], what: core::fmt::Arguments) {
        self.failures += 1;
        if self.failures <= SHOWN {
            ulib::println!(
                "fuzz core {}: FAIL call {} {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}): {}",
                self.core,
                self.calls,
                n,
                a[0],
                a[1],
                a[2],
                a[3],
                a[4],
                a[5],
                what
            );
        }
    }
}

/// The name of status `s`.
pub fn name(s: u64) -> &'static str {
    match ulib::Error::from_u64(s) {
        _ if s == 0 => "ok",
        Some(e) => error_name(e),
        None => "not an error code",
    }
}

fn error_name(e: ulib::Error) -> &'static str {
    use ulib::Error::*;
    match e {
        UnknownSyscall => "UnknownSyscall",
        InvalidCapability => "InvalidCapability",
        WrongObjectKind => "WrongObjectKind",
        MissingRights => "MissingRights",
        Misaligned => "Misaligned",
        Overlap => "Overlap",
        OutOfRange => "OutOfRange",
        OutOfMemory => "OutOfMemory",
        TooSmall => "TooSmall",
        SharedRangeNotAligned => "SharedRangeNotAligned",
        SlotOccupied => "SlotOccupied",
        InvalidArgument => "InvalidArgument",
        NotOwner => "NotOwner",
        DeviceError => "DeviceError",
        ShareCycle => "ShareCycle",
    }
}
