//! The atomics the rings are made of: `core`'s in every real build, loom's
//! when the crate's own loom models run (`--cfg loom` and `cfg(test)`), so
//! that loom explores every interleaving and every value a relaxed load may
//! legally return.

#[cfg(all(loom, test))]
pub(crate) use loom::sync::atomic::{fence, AtomicU64, Ordering};

#[cfg(not(all(loom, test)))]
pub(crate) use core::sync::atomic::{fence, AtomicU64, Ordering};

/// One turn of a polling loop: a CPU spin hint, or under loom a yield so the
/// model checker can schedule the other side.
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(all(loom, test))]
    loom::thread::yield_now();
    #[cfg(not(all(loom, test)))]
    core::hint::spin_loop();
}
