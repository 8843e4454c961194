//! The kernel never waits unboundedly for a hostile holder of the console
//! lock (docs/console.md, *One lock for every writer*). With the UART
//! granted (so xtask also grants the lock page), this task is the hog: it
//! takes the lock word and never releases it, prints through the kernel on
//! its own core (the kernel does not wait for a holder it interrupted),
//! tells the printer, waits until the printer's line is out, then faults
//! still holding it. Without the UART it is the printer, on another core:
//! its line goes out once the kernel's bounded wait gives up on the hold;
//! after the hog's end (its exit signal) it prints again.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use core::sync::atomic::{AtomicU64, Ordering};
use ulib::cap::{map, signal, wait_all};
use ulib::{console_lock, println, slots, CPtr, Rights};

ulib::entry!(main);

ulib::bind! {
    /// The console UART: only the hog has it.
    static UART: Slot = "uart";
    /// The lock page xtask grants with the writable UART.
    static LOCK: Slot = "console-lock";
    /// Hog -> printer: the lock is held (bit 1); the hog ended (bit 2,
    /// its exit signal).
    static TOLD: Slot = "told";
    /// Printer -> hog: its line is out (bit 1).
    static DONE: Slot = "done";
}

const LOCK_VA: u64 = 0x3000_1000;

fn main(start: ulib::Start) -> i32 {
    let (Some(told), Some(done)) = (TOLD.get(), DONE.get()) else {
        println!("conhog: FAIL the image grants no told/done notifications");
        return 1;
    };
    if UART.get().is_none() {
        // The printer.
        if wait_all(told, 1).is_err() {
            return 1;
        }
        println!("conhog printer: printed while the hog holds the console lock");
        let _ = signal(done, 1);
        if wait_all(told, 2).is_err() {
            return 1;
        }
        println!("conhog printer: printed after the hog's end");
        return 0;
    }
    let Some(page) = LOCK.get() else {
        println!("conhog: FAIL no console-lock grant beside the UART");
        return 1;
    };
    let root = CPtr::root(slots::ROOT_RANGE);
    if map(
        root,
        LOCK_VA,
        page,
        0,
        4096,
        Rights::READ.union(Rights::WRITE),
    )
    .is_err()
    {
        println!("conhog: FAIL cannot map the console lock page");
        return 1;
    }
    // Safety: LOCK_VA is mapped read/write for the task's life; its first
    // word is the lock word, touched only atomically.
    let word = unsafe { &*(LOCK_VA as *const AtomicU64) };
    let mine = console_lock::user(start.core as u32, 1);
    while word
        .compare_exchange(
            console_lock::FREE,
            mine,
            Ordering::Acquire,
            Ordering::Relaxed,
        )
        .is_err()
    {
        ulib::wait::relax();
    }
    println!("conhog: holding the console lock for good");
    let _ = signal(told, 1);
    if wait_all(done, 1).is_err() {
        return 1;
    }
    // Fault holding it: the kernel must release it and report the fault.
    // Safety: deliberately invalid (address 8, never mapped); the kernel
    // stops this task.
    unsafe { core::ptr::dangling::<u64>().read_volatile() };
    0
}
