//! Arm semihosting, used for one thing: ending a QEMU run with an exit
//! status (`SYS_EXIT` with `ADP_Stopped_ApplicationExit`), so a failing test
//! fails in seconds. QEMU must run with `-semihosting-config enable=on`.
//!
//! On a real board (or QEMU without semihosting) `hlt #0xf000` is an
//! undefined instruction. The kernel's exception handler recognises a fault
//! at [`trap_address`], skips the instruction and returns `u64::MAX`, so the
//! caller falls back to the board's own way to stop.

use core::arch::{asm, global_asm};

const SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

global_asm!(
    ".section .text.semihosting, \"ax\"",
    ".global __semihosting_call",
    ".type __semihosting_call, %function",
    "__semihosting_call:",
    "    hlt #0xf000",
    "    ret",
    ".size __semihosting_call, . - __semihosting_call",
);

extern "C" {
    fn __semihosting_call(op: u64, arg: u64) -> u64;
}

/// Address of the `hlt` instruction; a fault there means "no semihosting".
pub fn trap_address() -> usize {
    __semihosting_call as *const () as usize
}

/// Asks the host to end the run with `code`. Returns if semihosting is off.
pub fn exit(code: u32) {
    let block = [ADP_STOPPED_APPLICATION_EXIT, code as u64];
    // Safety: SYS_EXIT reads the two-word block `block` points to; the call
    // either ends the emulator or (no semihosting) returns u64::MAX through
    // the kernel's undefined-instruction fix-up.
    unsafe {
        __semihosting_call(SYS_EXIT, block.as_ptr() as u64);
        asm!("", options(nomem, nostack));
    }
}
