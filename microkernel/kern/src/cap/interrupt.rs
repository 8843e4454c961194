//! Device interrupts delivered to tasks (seL4's IRQ handler and
//! Microkit's `irq` in this kernel's terms; docs/capabilities.md,
//! *Device interrupts*).
//!
//! The image gives a device's interrupt to one task (`interrupt = {
//! notification, bits }` on its device capability; the archive's device
//! entry carries it). The kernel learns the device's INTID from the DTB.
//! When that task is loaded (or restarted) its core routes the shared
//! interrupt to itself and enables it; when the interrupt fires, that core
//! masks it, counts it (`Event::Interrupt`) and signals the bits on the
//! notification; the task handles the device and re-arms the line with
//! `InterruptAck` on its device segment capability (right W). When the
//! task ends the line is masked until its next instance is loaded.
//!
//! Lines are written once, by the boot core, before any task is loaded
//! (`setup`), and only read afterwards, except `live`; `live` and the
//! GIC's enable bit of a line are changed only by the line's own core.

use super::object::{self, Obj};
use crate::percore;
use abi::Error;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use kerncore::bootimage::{Archive, DeviceKind};
use kerncore::cap::Cap;

/// Most device interrupts an image delivers.
const LINES: usize = 8;

/// One delivered interrupt.
struct Line {
    /// The GIC INTID (0: the slot is unused).
    intid: AtomicU32,
    /// Archive index of the task it goes to.
    task: AtomicU32,
    /// The core that task runs on (which takes the interrupt).
    core: AtomicU32,
    /// Object id of the notification signalled.
    notification: AtomicU32,
    /// The bits signalled.
    bits: AtomicU64,
    /// Physical page of the device's registers (its segment's base).
    device: AtomicU64,
    /// Its task is loaded (between `task_loaded` and `task_ending`).
    live: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Line = Line {
    intid: AtomicU32::new(0),
    task: AtomicU32::new(0),
    core: AtomicU32::new(0),
    notification: AtomicU32::new(0),
    bits: AtomicU64::new(0),
    device: AtomicU64::new(0),
    live: AtomicBool::new(false),
};

static TABLE: [Line; LINES] = [EMPTY; LINES];

fn lines() -> impl Iterator<Item = &'static Line> {
    TABLE.iter().filter(|l| l.intid.load(Relaxed) != 0)
}

/// Boot core, once the boot objects exist: the lines the image delivers.
/// `notification` gives a notification's object id by archive index,
/// `registers` a device's physical base by kind. A device not on this
/// machine, or one whose INTID the DTB does not give, delivers nothing
/// (one console line).
pub(super) fn setup(
    a: &Archive,
    notification: impl Fn(u32) -> Option<u32>,
    registers: impl Fn(DeviceKind) -> Option<u64>,
) {
    let mut free = TABLE.iter();
    for j in 0..a.device_count() {
        let Some(d) = a.device(j) else { continue };
        let Some(i) = d.interrupt else { continue };
        let found = registers(d.kind).and_then(|pa| Some((pa, intid_of(d.kind, pa)?)));
        let (Some((pa, intid)), Some(note), Some(task)) = (
            found,
            notification(i.notification),
            crate::task::task_id(i.task as usize),
        ) else {
            crate::kprintln!("device {}: no interrupt to deliver", d.name);
            continue;
        };
        let Some(line) = free.next() else {
            crate::kprintln!("device {}: more than {} interrupts", d.name, LINES);
            crate::task::run_problem();
            return;
        };
        line.task.store(i.task, Relaxed);
        line.core.store(task.core, Relaxed);
        line.notification.store(note, Relaxed);
        line.bits.store(i.bits, Relaxed);
        line.device.store(pa & !(crate::mm::PAGE - 1), Relaxed);
        line.intid.store(intid, SeqCst);
        crate::kprintln!(
            "device {}: interrupt {} to core {}",
            d.name,
            intid,
            task.core
        );
    }
}

/// The INTID of the device of `kind` whose registers start at `pa`: the
/// console UART's, or the virtio-mmio transport's, as the DTB gives them.
fn intid_of(kind: DeviceKind, pa: u64) -> Option<u32> {
    let p = crate::boot::platform()?;
    match kind {
        DeviceKind::Uart => p.console_intid,
        _ => p
            .virtio_mmio
            .iter()
            .find(|v| v.region.base == pa)
            .map(|v| v.intid),
    }
}

/// Archive task `index` was loaded on this core: its lines are routed
/// here and enabled.
pub(super) fn task_loaded(index: usize) {
    for l in lines().filter(|l| l.task.load(Relaxed) as usize == index) {
        crate::irq::route_here(l.intid.load(Relaxed));
        l.live.store(true, Relaxed);
    }
}

/// Archive task `index` is ending: its lines are masked (a device that
/// goes on interrupting has nobody to handle it).
pub(super) fn task_ending(index: usize) {
    for l in lines().filter(|l| l.task.load(Relaxed) as usize == index) {
        crate::irq::set_enabled(l.intid.load(Relaxed), false);
        l.live.store(false, Relaxed);
    }
}

/// Whether a task of core `core` may still be woken by a device interrupt
/// (it holds a line and is loaded): such a core is not idle for good
/// while its tasks wait, since the device may be working for them
/// (`task::supervise::idle`; the run's end waits for that task to end).
pub fn awaits_interrupt(core: usize) -> bool {
    lines().any(|l| l.core.load(Relaxed) as usize == core && l.live.load(Relaxed))
}

/// The IRQ handler's question for an INTID that is not the kernel's own:
/// if it is a delivered line, it is masked, counted and signalled.
pub fn interrupt_taken(intid: u32) -> bool {
    let Some(l) = lines().find(|l| l.intid.load(Relaxed) == intid) else {
        return false;
    };
    crate::irq::set_enabled(intid, false);
    percore::count(|e| &e.interrupts);
    super::notify::kernel_signal(l.notification.load(Relaxed), l.bits.load(Relaxed));
    true
}

/// `InterruptAck`: the device segment capability (W) of a device whose
/// interrupt the image delivers to a task of this core; the line is
/// unmasked (an interrupt that arrived meanwhile is then taken). `cap`
/// is the device segment's capability (its entry looked it up, WRITE).
#[inline(never)]
pub(super) fn ack(cap: Cap) -> Result<(), Error> {
    let Some(Obj::Segment(s)) = object::get(cap.obj.id) else {
        return Err(Error::InvalidCapability);
    };
    let page = s.device.ok_or(Error::InvalidArgument)?;
    // Several virtio devices may share a page: the line of this core.
    let mut of_page = lines()
        .filter(|l| l.device.load(Relaxed) == page)
        .peekable();
    of_page.peek().ok_or(Error::InvalidArgument)?;
    let l = of_page
        .find(|l| l.core.load(Relaxed) as usize == percore::id())
        .ok_or(Error::NotOwner)?;
    crate::irq::set_enabled(l.intid.load(Relaxed), true);
    Ok(())
}
