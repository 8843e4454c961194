//! The Raspberry Pi 4 serial chainloader: the `kernel8.img` that
//! `cargo xtask flash --chainloader` puts on the SD card. It waits on UART0
//! (GPIO 14/15) for a kernel pushed by `cargo xtask hil`, checks it, writes
//! it to 0x80000 and enters it as the firmware would (same EL, MMU off,
//! x0 = the DTB) plus x1 = `CHAINLOADED_MAGIC`, so the kernel ends its run
//! with a watchdog reboot: back into this loader for the next test.
//!
//! The wire protocol and every decision about a transfer live in the
//! library (`chainload`), shared with the host. See docs/hil.md.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_os = "none")]
mod board;

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "rpi4-chainloader runs on a Raspberry Pi 4: build it with \
         `cargo xtask flash --board rpi4 --chainloader`"
    );
    std::process::exit(2);
}
