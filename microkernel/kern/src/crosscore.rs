//! The kernel's instance of the cross-core protocol
//! (`kerncore::crosscore`, loom-checked on the host): its one state for
//! every core, and the machine it runs on: a wake is the wake SGI, a
//! signal is `sev`, a wait is `wfe` armed by an exclusive load of the
//! waiter's mailbox.

use crate::arch::aarch64::{sev, wait_word};
use core::sync::atomic::AtomicU64;
use kerncore::crosscore::{Cpu, CrossCore};
use platform::MAX_CPUS;

/// Every core's mailbox, the sweep counts and the quiescence words.
pub static XCORE: CrossCore<AtomicU64, MAX_CPUS> = CrossCore::new();

/// This machine, for the protocol.
pub struct Machine;

impl Cpu<AtomicU64> for Machine {
    fn wake(&self, core: usize) {
        crate::irq::send_wake(core);
    }

    fn signal(&self) {
        sev();
    }

    fn wait(&self, mailbox: &AtomicU64, seen: u64) {
        wait_word(mailbox, seen);
    }
}

/// Cores the machine has.
pub fn ncores() -> usize {
    crate::boot::platform().map_or(1, |p| p.cpus.len())
}

/// A deadline `us` microseconds from now: `passed()` says whether it has.
pub struct Deadline {
    start: u64,
    us: u64,
}

impl Deadline {
    pub fn after_us(us: u64) -> Deadline {
        Deadline {
            start: drivers::timer::now(),
            us,
        }
    }

    pub fn passed(&self) -> bool {
        drivers::timer::ticks_to_us(drivers::timer::now() - self.start) > self.us
    }
}
