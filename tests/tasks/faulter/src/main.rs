//! Commits the fault its slot on the core selects, one per instance, so one
//! image shows every fault class contained to the task that commits it:
//!
//! | slot | fault |
//! | --- | --- |
//! | 0 | data abort: read of an unmapped address |
//! | 1 | instruction abort: jump to an unmapped address |
//! | 2 | undefined instruction (`udf`) |
//! | 3 | stack overflow into the guard page below the stack |
//! | 4 | privileged system register access (`mrs` of `SCTLR_EL1`) |
//! | 5 | alignment fault (exclusive load from a misaligned address) |
//! | 6 | PC alignment fault (branch to a misaligned address) |
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::asm;

ulib::entry!(main);

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    let big = [depth; 512];
    // Keep the frame alive so the compiler cannot turn this into a loop.
    core::hint::black_box(&big);
    recurse(depth + 1) + big[7]
}

fn main(start: ulib::Start) -> i32 {
    ulib::println!(
        "faulter slot {} on core {}: faulting",
        start.slot,
        start.core
    );
    // Safety (all arms): deliberately unsound; each is the fault under test,
    // and the kernel must stop this task and nothing else.
    unsafe {
        match start.slot {
            0 => {
                let v = (0x1000_0000 as *const u64).read_volatile();
                core::hint::black_box(v);
            }
            1 => {
                let f: extern "C" fn() = core::mem::transmute(0x2000_0000usize);
                f();
            }
            2 => asm!("udf #0"),
            3 => {
                core::hint::black_box(recurse(0));
            }
            4 => {
                let v: u64;
                asm!("mrs {0}, sctlr_el1", out(reg) v);
                core::hint::black_box(v);
            }
            5 => {
                // Exclusive loads fault on misalignment whatever SCTLR.A
                // says (QEMU does not model SP alignment checks).
                let word = [0u64; 2];
                let p = (word.as_ptr() as usize + 1) as *const u64;
                asm!("ldxr {0}, [{1}]", out(reg) _, in(reg) p);
            }
            6 => asm!("adr x9, 1f", "add x9, x9, #2", "br x9", "1: nop", out("x9") _),
            _ => return 0,
        }
    }
    ulib::println!("faulter slot {}: the fault did not happen", start.slot);
    1
}
