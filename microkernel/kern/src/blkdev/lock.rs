//! The in-kernel block baseline's device lock: a value behind a
//! `kerncore::lock::sleep::SleepLock`, whose waiters sleep in `wfi` until
//! the release that serves them sends them an SGI.
//!
//! Why not `crate::sync::Mutex`: the lock is held for a whole device
//! request, and that lock's waiters wait in `wfe`, which QEMU's
//! single-threaded TCG runs as a yield: under `-icount` a waiter counted
//! instructions for the device's whole latency (the 2- and 3-client rows
//! of `bench kernelcore`, docs/measurements.md). Here a waiter executes
//! nothing until its turn, as the holder executes nothing while the device
//! works, so what a request costs is work done.
//!
//! How a core sleeps: as the holder does on the device (blkdev's
//! `wait_used`), in `wfi` with interrupts masked (a system call), with
//! the GIC's priority mask letting only the lock's wake SGI (and the
//! device's interrupt, which is not routed to a waiter) end it
//! ([`crate::irq::Urgent::LockWake`]); the SGI is then acknowledged, never
//! taken. A wake sent before the `wfi` stays pending and ends it at once,
//! so the lock's check-then-sleep loses none (the protocol and its loom
//! models: `kerncore::lock::sleep`).

use crate::irq;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::AtomicU64;
use kerncore::lock::sleep::{SleepLock, Sleeper};
use platform::MAX_CPUS;

/// This core, as a waiter for the device lock.
struct Core;

impl Sleeper for Core {
    #[inline]
    fn me(&self) -> usize {
        crate::percore::id()
    }

    fn sleep(&self) {
        irq::only_urgent(irq::Urgent::LockWake);
        crate::arch::aarch64::wfi();
        irq::take_lock_wakes();
        irq::only_urgent(irq::Urgent::Off);
    }

    #[inline]
    fn wake(&self, core: usize) {
        irq::send_lock_wake(core);
    }
}

/// A value behind the sleeping lock.
pub struct DeviceLock<T> {
    raw: SleepLock<AtomicU64, MAX_CPUS>,
    value: UnsafeCell<T>,
}

// Safety: the lock gives one core at a time access to the value, as a
// mutex does; `T: Send` is what moving access between cores needs.
unsafe impl<T: Send> Sync for DeviceLock<T> {}

/// Access to a [`DeviceLock`]'s value; released (waking the next waiter)
/// on drop.
pub struct Guard<'a, T> {
    lock: &'a DeviceLock<T>,
}

impl<T> DeviceLock<T> {
    pub const fn new(value: T) -> Self {
        DeviceLock {
            raw: SleepLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, asleep until this core's turn. Only in a system
    /// call (interrupts masked): the sleep relies on it.
    pub fn lock(&self) -> Guard<'_, T> {
        self.raw.lock(&Core);
        Guard { lock: self }
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Safety: the guard is the lock's one holder.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // Safety: the guard is the lock's one holder.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.unlock(&Core);
    }
}
