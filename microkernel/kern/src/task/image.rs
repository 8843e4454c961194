//! The tasks the image holds: the task archive packed beside the kernel,
//! checked once; which tasks each core runs; building a task from its
//! archive entry (its address space, registers at entry, root share) at
//! start and at a restart. The scheduling of the tasks built: mod.rs.

use super::{
    load, report, supervise, verdict, State, Task, MAX_TASKS, SCHED, SPSR_EL0, USER_STACK_TOP,
};
use crate::arch::aarch64::exception::Frame;
use crate::{kprintln, mm};
use kerncore::bootimage::Archive;
/// The task archive packed beside the kernel (`mm::payload`), checked
/// once (read-only afterwards). A reference: each of the callers copied
/// the 88-byte reader before; out of line, as its callers are all cold
/// (task start and end, reports, boot), but see [`options`] (issue 12's
/// size goal).
#[inline(never)]
pub(crate) fn archive() -> &'static Archive<'static> {
    checked_archive()
}

static CHECKED: crate::sync::Once<Archive<'static>> = crate::sync::Once::new();

/// [`archive`]'s body: the archive, checked on first use.
#[inline(always)]
fn checked_archive() -> &'static Archive<'static> {
    CHECKED.call_once(|| match Archive::parse(mm::payload()) {
        Ok(a) => a,
        Err(e) => {
            kprintln!("task archive unusable: {:?}; running no tasks", e);
            verdict::problem();
            Archive::empty()
        }
    })
}

/// What the image asks of the kernel's test build (the archive header's
/// kernel options). Inline, unlike [`archive`]: the in-kernel block
/// baseline's system call asks it on every call.
pub fn options() -> kerncore::bootimage::KernelOptions {
    checked_archive().options()
}

/// The run has a problem that is no task's (said on the console where it
/// happened): it fails.
pub fn run_problem() {
    verdict::problem();
}

/// Tasks the archive assigns to cores the machine does not have.
pub fn report_absent_cores(ncores: usize) {
    for (i, t) in archive().iter().enumerate() {
        if t.core as usize >= ncores {
            let failed = verdict::absent(i);
            // It will never run: its exit signals say so now, so a server
            // it was connected to does not wait for it.
            crate::cap::task_never_runs(archive(), i);
            kprintln!(
                "task {}: core {} does not exist ({} cores): not started{}",
                t.name,
                t.core,
                ncores,
                if failed { "" } else { " (optional)" }
            );
        }
    }
}

/// Boot core, before any core starts its tasks: the image's shared ranges
/// and boot objects (its task objects included).
pub fn init(_ncores: usize) {
    let a = archive();
    for j in 0..a.range_count().min(crate::shared::MAX_SHARED) {
        let Some(r) = a.range(j) else { continue };
        match crate::shared::create(j, r.base, r.size) {
            Ok(()) => kprintln!(
                "shared range {} at {:#x}, {} KiB: one table, linked by each task that names it",
                r.name,
                r.base,
                r.size >> 10
            ),
            Err(e) => {
                kprintln!("shared range {}: not created: {:?}", r.name, e);
                verdict::problem();
            }
        }
    }
    crate::cap::make_boot_objects(a);
}

/// Core and slot of archive task `index`.
pub fn task_id(index: usize) -> Option<abi::TaskId> {
    let core = archive().entry(index).ok()?.core as usize;
    let slot = tasks_of(core).find(|&(i, _)| i == index)?.1;
    Some(abi::TaskId {
        core: core as u32,
        slot: slot as u32,
    })
}

/// `(archive index, slot)` of each task of core `id`, in image order.
fn tasks_of(id: usize) -> impl Iterator<Item = (usize, usize)> {
    let a = archive();
    (0..a.len())
        .filter(move |&i| a.entry(i).is_ok_and(|t| t.core as usize == id))
        .enumerate()
        .map(|(slot, i)| (i, slot))
}

/// (Re)builds the task in `slot` from archive entry `index`: a fresh
/// address space, registers at entry. A failure is said on the console
/// and fails the run; the caller records it in the task object and sends
/// the task's exit signals.
pub(super) fn instantiate(id: usize, slot: usize, index: usize, restarts: u32) -> Option<Task> {
    let t = archive().entry(index).ok()?;
    let asid = (id * (MAX_TASKS + 1) + slot + 1) as u16;
    match load::load(t.elf, asid) {
        Ok((mut space, entry)) => {
            let links = (t.flags >> 8) as u8;
            for j in (0..8).filter(|j| links & (1 << j) != 0) {
                if let Err(e) = space.link_shared(j) {
                    kprintln!("task {}: shared range {} not linked: {:?}", t.name, j, e);
                    verdict::task_failed(index);
                }
            }
            let mut ctx = Frame::zeroed();
            ctx.x[0] = id as u64;
            ctx.x[1] = slot as u64;
            ctx.x[2] = restarts as u64;
            ctx.elr = entry;
            ctx.spsr = SPSR_EL0;
            ctx.sp_el0 = USER_STACK_TOP;
            let root_share = match crate::cap::setup_root(slot) {
                Ok(id) => {
                    crate::cap::grant_task(archive(), index, id);
                    id
                }
                Err(e) => {
                    kprintln!("task {}: not started: no root share: {:?}", t.name, e);
                    verdict::task_failed(index);
                    space.destroy();
                    return None;
                }
            };
            let task = Task {
                name: t.name,
                slot,
                priority: t.priority,
                archive_index: index,
                restarts,
                space: Some(space),
                root_share: Some(root_share),
                state: State::Ready,
                fault: (0, 0),
                ctx,
                tpidr_el0: 0,
            };
            report::publish(&task);
            Some(task)
        }
        Err(why) => {
            kprintln!("task {}: not started: {}", t.name, why);
            verdict::task_failed(index);
            None
        }
    }
}

/// Loads this core's tasks.
pub(super) fn load_this_core(id: usize) {
    for (index, slot) in tasks_of(id) {
        if slot >= MAX_TASKS {
            let name = archive().entry(index).map_or("?", |t| t.name);
            kprintln!(
                "task {}: more than {} tasks on core {}: not started",
                name,
                MAX_TASKS,
                id
            );
            verdict::task_failed(index);
            crate::cap::task_never_runs(archive(), index);
            continue;
        }
        match instantiate(id, slot, index, 0) {
            Some(task) => SCHED.with(|s| s.tasks[slot] = Some(task)),
            // Its exit signals say so, so that nobody waits for it.
            None => crate::cap::task_never_runs(archive(), index),
        }
    }
    SCHED.with(|s| {
        let early = core::mem::take(&mut s.stop_on_load);
        for slot in (0..MAX_TASKS).filter(|i| early & (1 << i) != 0) {
            supervise::stop_here(s, id, slot);
        }
    });
}
