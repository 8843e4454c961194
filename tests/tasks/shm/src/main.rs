//! A shared address range seen from several cores: the task on core 1
//! writes a page and raises a flag; the tasks on the other cores wait for
//! the flag, check every word, and acknowledge; the writer waits for every
//! acknowledgement. Each core reaches the same frames through the same one
//! page-table page, linked into its own address space.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

ulib::entry!(main);

/// Where images/shared.toml puts the range `shm`.
const BASE: usize = 0x1_0000_0000;
const WORDS: usize = 512;
const READY: u64 = 0x5348_4152_4544_2121; // "SHARED!!"
const WRITER_CORE: usize = 1;
/// Readers: every other core from 0 to 3 (the image puts them there).
const READERS: u64 = 0b1101;
const TIMEOUT_US: u64 = 5_000_000;

fn pattern(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xc0de
}

fn now_us() -> u64 {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter.
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f) };
    t * 1_000_000 / f
}

fn wait_until(cond: impl Fn() -> bool) -> bool {
    let start = now_us();
    while !cond() {
        if now_us() - start > TIMEOUT_US {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

fn main(start: ulib::Start) -> i32 {
    let data = BASE as *mut u64;
    // Safety: the range `shm` is mapped read/write at BASE in this task
    // (the image links it); the second page holds the two control words.
    let (flag, acks) = unsafe {
        (
            &*((BASE + 4096) as *const AtomicU64),
            &*((BASE + 4104) as *const AtomicU64),
        )
    };
    if start.core == WRITER_CORE {
        for i in 0..WORDS {
            // Safety: inside the first page of the shared range.
            unsafe { data.add(i).write_volatile(pattern(i)) };
        }
        flag.store(READY, Ordering::Release);
        if !wait_until(|| acks.load(Ordering::Acquire) == READERS) {
            ulib::println!(
                "shm writer: acknowledgements {:#b}, wanted {:#b}",
                acks.load(Ordering::Acquire),
                READERS
            );
            return 1;
        }
        ulib::println!(
            "shm writer on core {}: every reader acknowledged",
            start.core
        );
        return 0;
    }
    if !wait_until(|| flag.load(Ordering::Acquire) == READY) {
        ulib::println!("shm reader on core {}: the flag never came", start.core);
        return 1;
    }
    for i in 0..WORDS {
        // Safety: inside the first page of the shared range.
        let v = unsafe { data.add(i).read_volatile() };
        if v != pattern(i) {
            ulib::println!("shm reader on core {}: word {} is {:#x}", start.core, i, v);
            return 2;
        }
    }
    acks.fetch_or(1 << start.core, Ordering::AcqRel);
    ulib::println!(
        "shm reader on core {}: saw the writer's page through the shared range",
        start.core
    );
    0
}
