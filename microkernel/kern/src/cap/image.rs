//! The objects an image makes at boot (shared shares, notifications,
//! device segments, its shared ranges) and the capabilities it grants.
//!
//! Boot objects live in the boot part of the object table and hold one
//! reference of their own (the image's) until the end of the run, so a
//! restarted task finds them again. Their capabilities are originals
//! (`extra` 0): no task can revoke what the image granted.

use super::object::{self, Obj, Segment, SpaceId, TaskObj};
use super::ops::Spaces;
use super::remove::finish_boot;
use super::{global, CORE_CAPS};
use crate::{kprintln, mm};
use abi::{Error, ObjectKind, TaskState};
use core::sync::atomic::{AtomicU64, Ordering::SeqCst};
use kerncore::bootimage::{Archive, DeviceKind, Holder, ImageObject};
use kerncore::cap::{Cap, ObjRef, Owner, ShareId, Slot, SlotRef};

/// Most boot objects of each kind.
const MAX: usize = 32;
/// Task objects, by archive index (made only for the tasks an image
/// grants a capability to; the one definition xtask checks images against).
const TASKS: usize = kerncore::bootimage::MAX_TASK_OBJECTS;

/// Object ids of the boot objects, by archive index.
struct BootObjects {
    ranges: [Option<u32>; MAX],
    shares: [Option<u32>; MAX],
    notifications: [Option<u32>; MAX],
    devices: [Option<u32>; MAX],
    tasks: [Option<u32>; TASKS],
}

static BOOT: crate::sync::Once<BootObjects> = crate::sync::Once::new();

fn id_of(o: ImageObject) -> Option<u32> {
    let b = BOOT.get()?;
    match o {
        ImageObject::Range(i) => b.ranges.get(i as usize).copied().flatten(),
        ImageObject::Share(i) => b.shares.get(i as usize).copied().flatten(),
        ImageObject::Notification(i) => b.notifications.get(i as usize).copied().flatten(),
        ImageObject::Device(i) => b.devices.get(i as usize).copied().flatten(),
        ImageObject::Task(i) => b.tasks.get(i as usize).copied().flatten(),
    }
}

/// Physical registers of a device the image names.
fn device_registers(kind: DeviceKind) -> Option<(u64, u64)> {
    let p = crate::boot::platform()?;
    match kind {
        DeviceKind::Uart => Some((p.console.base, p.console.size)),
        DeviceKind::ConsoleLock => None,
        DeviceKind::Mailbox => p.mailbox.map(|r| (r.base, r.size)),
        DeviceKind::VirtioBlk => first_virtio(p, VIRTIO_ID_BLOCK),
        DeviceKind::VirtioNet => first_virtio(p, VIRTIO_ID_NET),
        DeviceKind::Sdhci => {
            // The first controller (EMMC2 first) whose Present State says a
            // card is inserted, else the first: a real Pi 4 boots from the
            // card in EMMC2; QEMU raspi4b puts it on the Arasan SDHCI.
            let inserted = |base: u64| {
                let state = (mm::device_va(base) + SDHCI_PRESENT_STATE) as *const u32;
                // Safety: every SDHCI region of the DTB is in the kernel's
                // device map (a whole page); Present State is a read-only
                // status register with no side effect.
                let present = unsafe { state.read_volatile() };
                present & SDHCI_CARD_INSERTED != 0
            };
            let first = p.sdhci.first()?;
            let r = p.sdhci.iter().find(|r| inserted(r.base)).unwrap_or(first);
            Some((r.base, r.size.max(0x1000)))
        }
    }
}

/// virtio device ids (virtio 1.2, section 5).
const VIRTIO_ID_NET: u32 = 1;
const VIRTIO_ID_BLOCK: u32 = 2;

/// The registers of the first virtio-mmio transport, in the DTB's order,
/// whose device id is `id`.
fn first_virtio(p: &platform::Platform, id: u32) -> Option<(u64, u64)> {
    p.virtio_mmio.iter().find_map(|v| {
        let regs = mm::device_va(v.region.base) as *const u32;
        // Safety: every virtio-mmio region of the DTB is in the
        // kernel's device map; these are read-only identification
        // registers (magic at 0, device id at 8).
        let (magic, dev) = unsafe { (regs.read_volatile(), regs.add(2).read_volatile()) };
        (magic == 0x7472_6976 && dev == id).then_some((v.region.base, v.region.size))
    })
}

/// SDHCI Present State register and its Card Inserted bit.
const SDHCI_PRESENT_STATE: usize = 0x24;
const SDHCI_CARD_INSERTED: u32 = 1 << 16;
/// The SDHCI word holding Clock Control (15:0), Timeout Control (23:16)
/// and Software Reset (31:24), written whole (the BCM2835 Arasan
/// controller mishandles narrower writes); Software Reset For All.
const SDHCI_CLOCK_WORD: usize = 0x2c;
const SDHCI_RESET_ALL: u32 = 1 << 24;

fn new_global_share() -> Result<ShareId, Error> {
    let pa = mm::frame_alloc_zeroed().ok_or(Error::OutOfMemory)?;
    let ptr = mm::phys_to_virt(pa) as *mut Slot;
    let n = abi::slots::SHARE_SLOTS as usize;
    // Safety: a fresh frame of our own (64 slots of 64 bytes), reached
    // only through this slice from now on.
    let slots = unsafe {
        ptr.write_bytes(0, n);
        core::slice::from_raw_parts_mut(ptr, n)
    };
    global()
        .space
        .create_share(Owner::Shared, slots)
        .inspect_err(|_| mm::frame_free(pa))
}

/// Boot core, before tasks start: makes the image's objects and fills its
/// shared shares. Problems are one console line each; the objects affected
/// are left out.
pub fn make_boot_objects(a: &Archive) {
    let mut b = BootObjects {
        ranges: [None; MAX],
        shares: [None; MAX],
        notifications: [None; MAX],
        devices: [None; MAX],
        tasks: [None; TASKS],
    };
    let make = |what: &str, name: &str, obj: Obj| match object::create(None, obj) {
        Ok(id) => Some(id),
        Err((e, _)) => {
            // The tasks granted it would miss it: the run fails.
            kprintln!("image {} {}: not made: {:?}", what, name, e);
            crate::task::run_problem();
            None
        }
    };
    for j in 0..a.range_count().min(MAX) {
        if let Some(r) = a.range(j) {
            b.ranges[j] = make("range", r.name, Obj::ImageRange(j));
        }
    }
    for j in 0..a.share_count().min(MAX) {
        let Some(s) = a.share(j) else { continue };
        match new_global_share() {
            Ok(id) => {
                let obj = Obj::Share {
                    space: SpaceId::Global,
                    id,
                };
                b.shares[j] = make("share", s.name, obj);
            }
            Err(e) => {
                kprintln!("image share {}: not made: {:?}", s.name, e);
                crate::task::run_problem();
            }
        }
    }
    for j in 0..a.notification_count().min(MAX) {
        let Some(n) = a.notification(j) else { continue };
        let obj = Obj::Notification(object::Notification {
            pending: Default::default(),
            waiter: Default::default(),
        });
        b.notifications[j] = make("notification", n.name, obj);
    }
    for j in 0..a.device_count().min(MAX) {
        let Some(d) = a.device(j) else { continue };
        if d.kind == DeviceKind::ConsoleLock {
            let pa = crate::console::shared_lock_page();
            b.devices[j] = make("device", d.name, Obj::Segment(Segment::new_pinned(pa, 1)));
            kprintln!(
                "device {}: the console lock page, shared with the task writing the UART",
                d.name
            );
            continue;
        }
        match device_registers(d.kind) {
            Some((pa, size)) => {
                let pages = size.div_ceil(mm::PAGE);
                let obj = Obj::Segment(Segment::new_device(pa & !(mm::PAGE - 1), pages));
                b.devices[j] = make("device", d.name, obj);
                kprintln!("device {}: registers at {:#x}, {} bytes", d.name, pa, size);
            }
            None => kprintln!("device {}: not on this machine; not granted", d.name),
        }
    }
    for c in a.caps() {
        let ImageObject::Task(i) = c.object else {
            continue;
        };
        let i = i as usize;
        let Ok(t) = a.entry(i) else { continue };
        if i >= TASKS || b.tasks[i].is_some() {
            continue;
        }
        let Some(id) = crate::task::task_id(i) else {
            continue;
        };
        let obj = Obj::Task(TaskObj {
            index: i,
            id: id.encode(),
            state: AtomicU64::new(TaskState::Running as u64),
            value: AtomicU64::new(0),
            far: AtomicU64::new(0),
        });
        b.tasks[i] = make("task", t.name, obj);
    }
    BOOT.call_once(|| b);
    super::interrupt::setup(
        a,
        |j| id_of(ImageObject::Notification(j)),
        |kind| device_registers(kind).map(|(pa, _)| pa),
    );
    // What the shared shares hold.
    for c in a.caps() {
        let Holder::Share(j) = c.holder else { continue };
        let (Some(share), Some(obj)) = (id_of(ImageObject::Share(j)), id_of(c.object)) else {
            continue;
        };
        let Some(Obj::Share { id, .. }) = object::get(share) else {
            continue;
        };
        grant(
            SpaceId::Global,
            SlotRef::new(*id, c.slot),
            c.object.kind(),
            obj,
            c.rights,
        );
    }
}

fn grant(space: SpaceId, at: SlotRef, kind: ObjectKind, obj: u32, rights: abi::Rights) {
    let cap = Cap {
        obj: ObjRef { kind, id: obj },
        rights,
        extra: 0,
    };
    let me = crate::percore::id() as u32;
    let r = match space {
        SpaceId::Global => global().space.insert_original(me, at, cap),
        SpaceId::Core(_) => CORE_CAPS.with(|c| c.space.insert_original(me, at, cap)),
    };
    match r {
        Ok(()) => object::retain(obj),
        Err(e) => kprintln!(
            "image capability to slot {}: not granted: {:?}",
            at.index,
            e
        ),
    }
}

/// The image's name of notification object `obj`, if it is one of the
/// image's (a notification made at run time has none).
pub fn notification_name(obj: u32) -> Option<&'static str> {
    let b = BOOT.get()?;
    let j = b.notifications.iter().position(|&n| n == Some(obj))?;
    crate::task::archive().notification(j).map(|n| n.name)
}

/// Grants archive task `index` its capabilities, in its root share `root`.
pub fn grant_task(a: &Archive, index: usize, root: ShareId) {
    let me = crate::percore::id();
    for c in a.caps() {
        if c.holder != Holder::Task(index as u32) {
            continue;
        }
        let Some(obj) = id_of(c.object) else { continue };
        grant(
            SpaceId::Core(me),
            SlotRef::new(root, c.slot),
            c.object.kind(),
            obj,
            c.rights,
        );
    }
    super::interrupt::task_loaded(index);
}

/// Archive task `index` stopped running (faulted, or is ending): if the
/// image granted it the console lock page, a hold it left is released
/// before the kernel prints about it.
pub fn task_stopped(a: &Archive, index: usize) {
    let granted = a.caps().any(|c| {
        let (Holder::Task(t), ImageObject::Device(j)) = (c.holder, c.object) else {
            return false;
        };
        t as usize == index
            && a.device(j as usize)
                .is_some_and(|d| d.kind == DeviceKind::ConsoleLock)
    });
    if granted {
        crate::console::release_task_hold();
    }
}

/// virtio-mmio `Status` register: writing 0 resets the device.
const VIRTIO_STATUS: usize = 0x70;
/// Reads of `Status` to wait for a reset to finish.
const RESET_POLLS: usize = 1_000_000;

/// Archive task `index` is ending, before its capabilities go: each device
/// it was granted that does DMA is reset, so it writes no more into memory
/// about to be freed (a block server's DMA window, with requests still in
/// the device when the server died).
pub fn task_ending(a: &Archive, index: usize) {
    task_stopped(a, index);
    super::interrupt::task_ending(index);
    for c in a.caps() {
        let (Holder::Task(t), ImageObject::Device(j)) = (c.holder, c.object) else {
            continue;
        };
        if t as usize != index {
            continue;
        }
        let Some(d) = a.device(j as usize) else {
            continue;
        };
        let Some((pa, _)) = device_registers(d.kind) else {
            continue;
        };
        let done = match d.kind {
            // The UART and the console lock page do no DMA. The mailbox
            // has no reset; the firmware answers a property call within
            // microseconds, so a server dying mid-call leaves at most
            // one answer written into its freed buffer page.
            DeviceKind::Uart | DeviceKind::ConsoleLock | DeviceKind::Mailbox => continue,
            DeviceKind::VirtioBlk | DeviceKind::VirtioNet => {
                let status = (mm::device_va(pa) + VIRTIO_STATUS) as *mut u32;
                // Safety: the device's registers are in the kernel's device
                // map (device_registers found its magic there); writing 0 to
                // Status is the virtio reset, after which the device uses no
                // guest memory.
                unsafe {
                    status.write_volatile(0);
                    (0..RESET_POLLS).any(|_| status.read_volatile() == 0)
                }
            }
            DeviceKind::Sdhci => {
                let word = (mm::device_va(pa) + SDHCI_CLOCK_WORD) as *mut u32;
                // Safety: the controller's registers are in the kernel's
                // device map (a DTB SDHCI region); Software Reset For All
                // stops any transfer and clears the host's state (the card
                // is re-initialised by the next server).
                unsafe {
                    let clock = word.read_volatile() & 0xffff;
                    word.write_volatile(clock | SDHCI_RESET_ALL);
                    (0..RESET_POLLS).any(|_| word.read_volatile() & SDHCI_RESET_ALL == 0)
                }
            }
        };
        if done {
            kprintln!("device {}: reset (the task granted it ended)", d.name);
        } else {
            kprintln!("device {}: reset did not finish; its DMA may go on", d.name);
        }
    }
}

/// The task object of archive task `index`, if the image made one.
pub(super) fn task_object(index: usize) -> Option<&'static TaskObj> {
    match object::get(id_of(ImageObject::Task(index as u32))?) {
        Some(Obj::Task(t)) => Some(t),
        _ => None,
    }
}

/// Archive task `index` ended as `state` says (exited with status `value`,
/// or faulted with ESR `value` at `far`; its capabilities and address space
/// are gone): its task object records it, then its exit signals go out.
pub fn task_ended(a: &Archive, index: usize, state: TaskState, value: u64, far: u64) {
    if let Some(t) = task_object(index) {
        t.value.store(value, SeqCst);
        t.far.store(far, SeqCst);
        t.state.store(state as u64, SeqCst);
    }
    exit_signals(a, index);
}

/// Archive task `index` will never run (not started: its core does not
/// exist, or it was refused at load): its task object, if any, reads as
/// `NotStarted` (no restart or stop is accepted for it), and its exit
/// signals go out, so whoever waits for its end (a server it is connected
/// to) does not wait forever.
pub fn task_never_runs(a: &Archive, index: usize) {
    if let Some(t) = task_object(index) {
        t.state.store(TaskState::NotStarted as u64, SeqCst);
    }
    exit_signals(a, index);
}

/// Sends archive task `index`'s exit signals.
fn exit_signals(a: &Archive, index: usize) {
    for (j, bits) in a.exit_signals(index) {
        if let Some(id) = id_of(ImageObject::Notification(j)) {
            super::notify::kernel_signal(id, bits);
        }
    }
}

/// No task is left: nothing to undo in an address space.
struct NoSpaces;

impl Spaces for NoSpaces {
    fn root_share(&self) -> Option<ShareId> {
        None
    }

    fn root(&mut self, _: usize) -> Option<&mut crate::uspace::UserSpace> {
        None
    }
}

/// End of the run, every task gone: drops the image's own references, so
/// the boot objects (and what their shares still hold) are destroyed.
pub fn release_boot_objects() {
    let Some(b) = BOOT.get() else { return };
    let all = b
        .shares
        .iter()
        .chain(&b.notifications)
        .chain(&b.devices)
        .chain(&b.ranges)
        .chain(&b.tasks)
        .flatten();
    // In batches: an `Obj` is large (a range holds its tables' state), and
    // every boot object at once would not fit on a kernel stack.
    let mut ids = all.copied().peekable();
    while ids.peek().is_some() {
        let mut objs: heapless::Vec<Obj, RELEASE_BATCH> = heapless::Vec::new();
        while !objs.is_full() {
            let Some(id) = ids.next() else { break };
            if let Some(obj) = object::release(id) {
                let _ = objs.push(obj);
            }
        }
        finish_boot(objs, &mut NoSpaces);
    }
}

/// Boot objects destroyed per batch at the end of a run.
const RELEASE_BATCH: usize = 16;
