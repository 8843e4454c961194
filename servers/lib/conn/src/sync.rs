//! The atomics of the control words: `core`'s in every real build, loom's
//! when the crate's own loom models run (`--cfg loom` and `cfg(test)`).

#[cfg(all(loom, test))]
pub(crate) use loom::sync::atomic::{fence, AtomicU64, Ordering};

#[cfg(not(all(loom, test)))]
pub(crate) use core::sync::atomic::{fence, AtomicU64, Ordering};
