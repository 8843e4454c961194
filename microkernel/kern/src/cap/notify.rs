//! Notifications: a word of pending bits and at most one waiting task,
//! which may run on another core (woken through its core's mailbox and a
//! wake SGI).

use super::object::{self, Notification, Obj};
use super::ops::{check_room, install, root_cap, Named, Spaces};
use super::{CoreCaps, CORE_CAPS};
use abi::{args, Error, ObjectKind, Rights, TaskId};
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use kerncore::cap::Cap;

/// `NotifyCreate` into `place` (its entry checked the slot).
#[inline(never)]
pub(super) fn create(c: &mut CoreCaps, place: Named) -> Result<(), Error> {
    let n = Notification {
        pending: AtomicU64::new(0),
        waiter: AtomicU64::new(0),
    };
    let rights = Rights::ALL.intersect(Rights::READ.union(Rights::WRITE).union(Rights::GRANT));
    check_room()?;
    install(c, place, Obj::Notification(n), rights).map_err(|(e, _)| e)
}

fn get(id: u32) -> Option<&'static Notification> {
    match object::get(id) {
        Some(Obj::Notification(n)) => Some(n),
        _ => None,
    }
}

/// `Signal` of `bits` (non-zero: `args::Signal`) through the notification
/// capability `cap` (its entry looked it up, WRITE).
#[inline(never)]
pub(super) fn signal(cap: Cap, bits: u64) -> Result<(), Error> {
    let n = get(cap.obj.id).ok_or(Error::InvalidCapability)?;
    // A waiter on this core is woken when the system call serves this
    // core's mailbox on its way out (task::syscall).
    raise(n, bits);
    Ok(())
}

/// Sets `bits` on `n` and asks its waiter's core, if it has a waiter, to
/// look at it; that core.
fn raise(n: &Notification, bits: u64) -> Option<usize> {
    n.pending.fetch_or(bits, SeqCst);
    let w = n.waiter.load(SeqCst);
    (w != 0).then(|| {
        // The kernel wrote it from a `TaskId`: it always decodes.
        let core = TaskId::decode(w - 1).map_or(0, |t| t.core as usize);
        crate::task::post_notify(core);
        core
    })
}

/// `Wait` for the calling task `me` (needs READ): `Ok(Ok(bits))` at
/// once, or `Ok(Err(_))` with the task registered as the waiter of the
/// notification `(id, generation)` returned. With `poll`
/// ([`abi::WAIT_POLL`]), always at once (bits possibly 0).
pub fn notification_wait_state(
    spaces: &mut dyn Spaces,
    args::Wait { at, poll }: args::Wait,
    me: TaskId,
) -> Result<Result<u64, (u32, u32)>, Error> {
    CORE_CAPS.with(|c| {
        let (_, cap) = root_cap(c, spaces, at.0, ObjectKind::Notification, Rights::READ)?;
        let id = cap.obj.id;
        let n = get(id).ok_or(Error::InvalidCapability)?;
        let bits = n.pending.swap(0, SeqCst);
        if bits != 0 || poll {
            return Ok(Ok(bits));
        }
        let enc = me.encode() + 1;
        match n.waiter.compare_exchange(0, enc, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(w) if w == enc => {}
            Err(_) => return Err(Error::InvalidArgument),
        }
        // A signal between the swap and the registration saw no waiter.
        let bits = n.pending.swap(0, SeqCst);
        if bits != 0 {
            n.waiter.store(0, SeqCst);
            return Ok(Ok(bits));
        }
        Ok(Err((id, object::generation(id))))
    })
}

/// Task `task` waits on notification object `id` no more (it was stopped
/// while waiting): the notification may get another waiter.
pub fn forget_waiter(id: u32, task: TaskId) {
    if let Some(n) = get(id) {
        let _ = n
            .waiter
            .compare_exchange(task.encode() + 1, 0, SeqCst, SeqCst);
    }
}

/// For a task waiting on `(id, gen)`: `Some(Ok(bits))` to wake it with
/// bits, `Some(Err(_))` if the notification is gone, `None` to go on
/// waiting.
pub fn wake_notified(id: u32, gen: u32) -> Option<Result<u64, Error>> {
    if object::generation(id) != gen {
        return Some(Err(Error::InvalidCapability));
    }
    let n = get(id)?;
    let bits = n.pending.swap(0, SeqCst);
    if bits == 0 {
        return None;
    }
    n.waiter.store(0, SeqCst);
    Some(Ok(bits))
}

/// The kernel signals `bits` on notification object `id` (a task's exit
/// signal). A waiter on this core is woken through this core's own wake
/// SGI, taken as soon as interrupts are unmasked (no system call of this
/// core is there to serve the mailbox).
pub(super) fn kernel_signal(id: u32, bits: u64) {
    let Some(n) = get(id) else { return };
    let me = crate::percore::id();
    if raise(n, bits) == Some(me) {
        crate::irq::send_wake(me);
    }
}

/// The last capability went: its waiter (if any) is told.
pub(super) fn destroyed(n: &Notification) {
    let w = n.waiter.load(SeqCst);
    if w != 0 {
        crate::task::post_notify(TaskId::decode(w - 1).map_or(0, |t| t.core as usize));
    }
}
