//! Tasks: user code at EL0, bound to one core (Corey's pcore). Each core
//! loads the tasks the image assigns to it from the embedded archive, runs
//! them by priority, serves their system calls and contains their faults:
//! a faulting task is stopped and reported; nothing else is affected.

use crate::arch::aarch64::exception::{read_esr_far, Frame};
use crate::percore::{self, Local};
use crate::uspace::{user_attrs, UserSpace, USER_TOP};
use crate::{kprintln, mm};
use abi::{Error, Syscall};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicUsize, Ordering};
use kerncore::bootimage::Archive;
use kerncore::esr;
use platform::MAX_CPUS;

static ARCHIVE_BYTES: &[u8] = include_bytes!(env!("KERNEL_TASKS_FILE"));

/// Most tasks one core holds.
const MAX_TASKS: usize = 8;
/// A task's stack: 64 KiB below this address, and below that a 64 KiB guard
/// that nothing may map, so running off the stack is a fault the kernel can
/// name.
const USER_STACK_TOP: u64 = 0x8000_0000;
const USER_STACK_SIZE: u64 = 64 * 1024;
const USER_STACK_GUARD: u64 = 64 * 1024;
const GUARD_START: u64 = USER_STACK_TOP - USER_STACK_SIZE - USER_STACK_GUARD;
/// Longest `DebugPrint`.
const MAX_PRINT: usize = 256;
/// SPSR for entering a task: EL0t, interrupts unmasked.
const SPSR_EL0: u64 = 0;
/// SPSR for the idle loop: EL1h, IRQs unmasked (D, A, F masked).
const SPSR_EL1_IDLE: u64 = 0x345;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Ready,
    Exited(u64),
    Faulted,
}

struct Task {
    name: &'static str,
    priority: u32,
    space: UserSpace,
    state: State,
    ctx: Frame,
}

struct Sched {
    tasks: [Option<Task>; MAX_TASKS],
    current: Option<usize>,
    /// The time slice ran out: switch at the next return to EL0.
    need_resched: bool,
}

static SCHED: Local<Sched> = Local::new(
    [const {
        UnsafeCell::new(Sched {
            tasks: [const { None }; MAX_TASKS],
            current: None,
            need_resched: false,
        })
    }; MAX_CPUS],
);

/// Free frames before any task was loaded (for the leak check at the end).
static FREE_AT_START: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Records the free-frame count before tasks start.
pub fn note_free_frames(ncores: usize) {
    FREE_AT_START.store(mm::free_frames(ncores), Ordering::Relaxed);
}

/// Reports whether every frame tasks used came back.
pub fn report_leaks(ncores: usize) {
    let before = FREE_AT_START.load(Ordering::Relaxed);
    let after = mm::free_frames(ncores);
    kprintln!(
        "memory: {} frames free before tasks, {} after",
        before,
        after
    );
    if after == before {
        kprintln!("memory: no frames leaked");
    } else {
        kprintln!("memory: {} frames leaked", before as i64 - after as i64);
    }
    for id in 0..ncores {
        let e = &percore::get(id).events;
        let r = |c: &core::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        kprintln!(
            "core {} events: {} shared-lock acquisitions, {} broadcast TLB invalidations, {} IPIs, {} global-pool takes",
            id,
            r(&e.shared_locks),
            r(&e.broadcast_tlbi),
            r(&e.ipis),
            r(&e.global_pool_takes)
        );
    }
}

/// Cores whose tasks have all ended (shared by design: how core 0 knows
/// the image is done).
pub static CORES_DONE: AtomicUsize = AtomicUsize::new(0);

fn archive() -> Archive<'static> {
    match Archive::parse(ARCHIVE_BYTES) {
        Ok(a) => a,
        Err(e) => {
            kprintln!("task archive unusable: {:?}; running no tasks", e);
            Archive::empty()
        }
    }
}

/// Tasks the archive assigns to cores the machine does not have.
pub fn report_absent_cores(ncores: usize) {
    for t in archive().iter() {
        if t.core as usize >= ncores {
            kprintln!(
                "task {}: core {} does not exist ({} cores): not started",
                t.name,
                t.core,
                ncores
            );
        }
    }
}

/// Loads this core's tasks. Errors in a task's ELF are reported per task.
fn load_this_core(id: usize) {
    let mut slot = 0;
    for t in archive().iter().filter(|t| t.core as usize == id) {
        if slot == MAX_TASKS {
            kprintln!(
                "task {}: more than {} tasks on core {}: not started",
                t.name,
                MAX_TASKS,
                id
            );
            continue;
        }
        let asid = (id * (MAX_TASKS + 1) + slot + 1) as u16;
        match load(t.elf, asid, id) {
            Ok((space, entry)) => {
                let mut ctx = Frame::zeroed();
                ctx.x[0] = id as u64;
                ctx.x[1] = slot as u64;
                ctx.elr = entry;
                ctx.spsr = SPSR_EL0;
                ctx.sp_el0 = USER_STACK_TOP;
                let task = Task {
                    name: t.name,
                    priority: t.priority,
                    space,
                    state: State::Ready,
                    ctx,
                };
                SCHED.with(|s| s.tasks[slot] = Some(task));
                slot += 1;
            }
            Err(why) => kprintln!("task {}: not started: {}", t.name, why),
        }
    }
}

/// Builds a task's address space from its ELF: each PT_LOAD segment in
/// fresh zeroed frames with the permissions its flags give (never W+X), and
/// a stack with a guard page below it.
fn load(bytes: &[u8], asid: u16, _core: usize) -> Result<(UserSpace, u64), &'static str> {
    let file = elf::ElfBytes::<elf::endian::LittleEndian>::minimal_parse(bytes)
        .map_err(|_| "not an ELF file")?;
    if file.ehdr.e_machine != elf::abi::EM_AARCH64 {
        return Err("not an AArch64 ELF");
    }
    let mut space = UserSpace::new(asid).map_err(|_| "out of memory")?;
    match populate(&mut space, &file, bytes) {
        Ok(()) => Ok((space, file.ehdr.e_entry)),
        Err(why) => {
            space.destroy();
            Err(why)
        }
    }
}

/// Maps `file`'s segments and a stack into `space`.
fn populate(
    space: &mut UserSpace,
    file: &elf::ElfBytes<elf::endian::LittleEndian>,
    bytes: &[u8],
) -> Result<(), &'static str> {
    use elf::abi::{PF_W, PF_X, PT_LOAD};
    let segments = file.segments().ok_or("no program headers")?;
    for ph in segments.iter().filter(|p| p.p_type == PT_LOAD) {
        let (w, x) = (ph.p_flags & PF_W != 0, ph.p_flags & PF_X != 0);
        if w && x {
            return Err("a segment is both writable and executable");
        }
        if ph.p_filesz > ph.p_memsz {
            return Err("a segment's file size exceeds its memory size");
        }
        let start = ph.p_vaddr & !(mm::PAGE - 1);
        let end = ph
            .p_vaddr
            .checked_add(ph.p_memsz)
            .filter(|&e| e <= USER_TOP)
            .ok_or("a segment lies outside the user half")?
            .next_multiple_of(mm::PAGE);
        if start < USER_STACK_TOP && end > GUARD_START {
            return Err("a segment overlaps the stack or its guard");
        }
        let data = bytes
            .get(ph.p_offset as usize..)
            .and_then(|b| b.get(..ph.p_filesz as usize))
            .ok_or("a segment's file bytes lie outside the file")?;
        // Page `page` of the segment gets the file bytes that fall in it.
        let fill = |page: u64, frame: *mut u8| {
            let lo = page.max(ph.p_vaddr);
            let hi = (page + mm::PAGE).min(ph.p_vaddr + ph.p_filesz);
            if lo < hi {
                let src = &data[(lo - ph.p_vaddr) as usize..(hi - ph.p_vaddr) as usize];
                // Safety: `frame` is a fresh zeroed page; `lo - page + len`
                // is at most one page.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        src.as_ptr(),
                        frame.add((lo - page) as usize),
                        src.len(),
                    )
                };
            }
        };
        space
            .map_fresh(start, end - start, user_attrs(w, x), fill)
            .map_err(|e| match e {
                Error::Overlap => "two segments overlap",
                Error::OutOfMemory => "out of memory",
                _ => "a segment cannot be mapped",
            })?;
    }
    let stack_attrs = user_attrs(true, false);
    space
        .map_fresh(
            USER_STACK_TOP - USER_STACK_SIZE,
            USER_STACK_SIZE,
            stack_attrs,
            |_, _| {},
        )
        .map_err(|_| "out of memory for the stack")?;
    Ok(())
}

/// Picks the next ready task (highest priority; the lowest slot among
/// equals) and makes `frame` return into it. Without one, `frame` returns
/// into this core's idle loop.
/// The ready task to run: the highest priority; among equals, the first
/// slot after `after` (round robin), or the lowest slot.
fn pick_next(s: &Sched, after: Option<usize>) -> Option<usize> {
    let ready = |i: usize| s.tasks[i].as_ref().filter(|t| t.state == State::Ready);
    let top = (0..MAX_TASKS)
        .filter_map(|i| ready(i).map(|t| t.priority))
        .max()?;
    let start = after.map_or(0, |a| a + 1);
    (0..MAX_TASKS)
        .map(|k| (start + k) % MAX_TASKS)
        .find(|&i| ready(i).is_some_and(|t| t.priority == top))
}

fn switch_to_next(s: &mut Sched, frame: &mut Frame) {
    let next = pick_next(s, None);
    s.current = next;
    s.need_resched = false;
    match next {
        Some(i) => {
            let t = s.tasks[i].as_ref().expect("picked slot holds a task");
            t.space.activate();
            copy_frame(frame, &t.ctx);
        }
        None => {
            *frame = Frame::zeroed();
            frame.elr = idle_entry as *const () as u64;
            frame.spsr = SPSR_EL1_IDLE;
            CORES_DONE.fetch_add(1, Ordering::AcqRel);
            crate::arch::aarch64::sev();
        }
    }
}

/// Ends task `i` (its state already says how): after `switch_to_next` has
/// moved TTBR0 off its space, every frame and table of it is freed and its
/// ASID's TLB entries on this core dropped.
fn retire(s: &mut Sched, i: usize) {
    if s.current == Some(i) {
        return;
    }
    if let Some(t) = s.tasks[i].take() {
        let asid = t.space.asid();
        if s.current.is_none() {
            crate::uspace::drop_boot_identity_map();
        }
        t.space.destroy();
        crate::uspace::flush_asid(asid);
    }
}

fn copy_frame(dst: &mut Frame, src: &Frame) {
    dst.x = src.x;
    dst.elr = src.elr;
    dst.spsr = src.spsr;
    dst.sp_el0 = src.sp_el0;
}

/// Length of a time slice among tasks of equal priority.
const TIMESLICE_US: u64 = 2_000;

/// This core's timer fired (after boot): the running task's slice is over.
/// The timer keeps ticking only while two or more tasks are ready.
pub fn tick() {
    let ready = SCHED.with(|s| {
        s.need_resched = true;
        s.tasks
            .iter()
            .flatten()
            .filter(|t| t.state == State::Ready)
            .count()
    });
    if ready >= 2 {
        drivers::timer::arm_in_us(TIMESLICE_US);
    } else {
        drivers::timer::stop();
    }
}

/// On the way back to EL0 after an interrupt: if the slice is over, the
/// interrupted task goes to the back of its priority and the next one runs.
pub fn preempt_if_needed(frame: &mut Frame) {
    SCHED.with(|s| {
        if !s.need_resched {
            return;
        }
        s.need_resched = false;
        let Some(cur) = s.current else { return };
        let next = pick_next(s, Some(cur));
        if next == Some(cur) || next.is_none() {
            return;
        }
        if let Some(t) = s.tasks[cur].as_mut() {
            copy_frame(&mut t.ctx, frame);
        }
        let n = next.expect("checked above");
        s.current = next;
        let t = s.tasks[n].as_ref().expect("picked slot holds a task");
        t.space.activate();
        copy_frame(frame, &t.ctx);
    });
}

/// Starts this core's tasks; never returns (the core ends in its idle loop).
pub fn run_this_core(id: usize) -> ! {
    load_this_core(id);
    tick();
    let mut frame = Frame::zeroed();
    SCHED.with(|s| switch_to_next(s, &mut frame));
    enter(&frame)
}

/// The frame a core enters its first task (or idle loop) through. Kept out
/// of the stack, because entering resets the stack.
static ENTRY_FRAME: Local<Frame> =
    Local::new([const { UnsafeCell::new(Frame::zeroed()) }; MAX_CPUS]);

extern "C" {
    /// Copies `*frame` to the top of the stack ending at `stack_top`, makes
    /// that the stack and restores it with `eret` (vectors.s).
    fn enter_frame(frame: *const Frame, stack_top: u64) -> !;
    static __boot_stack_top: u8;
}

core::arch::global_asm!(
    ".section .text.enter_frame, \"ax\"",
    ".global enter_frame",
    "enter_frame:",
    "    sub x2, x1, #272",
    "    mov x3, x2",
    "    mov x6, #(272 / 16)",
    "1:  ldp x4, x5, [x0], #16",
    "    stp x4, x5, [x3], #16",
    "    subs x6, x6, #1",
    "    b.ne 1b",
    "    mov sp, x2",
    "    b exception_return",
);

/// Leaves the kernel through `frame`, resetting this core's kernel stack:
/// the frame goes at the top of the stack, where the next exception from
/// EL0 will save the task's registers again.
fn enter(frame: &Frame) -> ! {
    let id = percore::id();
    let top = if id == 0 {
        &raw const __boot_stack_top as u64
    } else {
        mm::stack_top(id)
    };
    let src = ENTRY_FRAME.with(|f| {
        copy_frame(f, frame);
        f as *const Frame
    });
    // Safety: `src` is this core's ENTRY_FRAME (static, not on the stack
    // being reset); `top` is this core's kernel stack top. Everything on the
    // current stack is abandoned: enter_frame never returns.
    unsafe { enter_frame(src, top) }
}

/// This core's idle loop, entered by `eret` when it has no task left.
extern "C" fn idle_entry() -> ! {
    crate::demo::idle(percore::id())
}

/// A synchronous exception from EL0: a system call or a fault.
pub fn from_user(frame: &mut Frame) {
    let (esr_v, far) = read_esr_far();
    let ec = esr::class(esr_v);
    if ec == 0x15 {
        syscall(frame);
        return;
    }
    SCHED.with(|s| {
        let Some(i) = s.current else { return };
        if let Some(t) = s.tasks[i].as_mut() {
            t.state = State::Faulted;
            report_fault(t.name, ec, esr_v, far, frame.elr);
        }
        switch_to_next(s, frame);
        retire(s, i);
    });
}

/// One console line per fault: class, the fault status or syndrome, the
/// faulting address where the class has one, and the pc.
fn report_fault(name: &str, ec: u8, esr_v: u64, far: u64, pc: u64) {
    let core = percore::id();
    let class = esr::class_name(ec);
    if esr::is_abort(ec) || ec == 0x22 {
        let status = if ec == 0x22 {
            "misaligned pc"
        } else if (GUARD_START..USER_STACK_TOP - USER_STACK_SIZE).contains(&far) {
            "stack overflow into the guard"
        } else {
            esr::abort_status(esr_v)
        };
        kprintln!(
            "task {} on core {} faulted: {} ({}) at address {:#x}, pc {:#x}; task stopped",
            name,
            core,
            class,
            status,
            far,
            pc
        );
    } else {
        kprintln!(
            "task {} on core {} faulted: {} (ESR {:#x}), pc {:#x}; task stopped",
            name,
            core,
            class,
            esr_v,
            pc
        );
    }
}

fn syscall(frame: &mut Frame) {
    let result = match Syscall::from_u64(frame.x[8]) {
        None => Err(Error::UnknownSyscall),
        Some(Syscall::Null) => Ok(()),
        Some(Syscall::DebugPrint) => debug_print(frame.x[0], frame.x[1]),
        Some(Syscall::Exit) => {
            let code = frame.x[0];
            SCHED.with(|s| {
                if let Some(i) = s.current {
                    if let Some(t) = s.tasks[i].as_mut() {
                        t.state = State::Exited(code);
                        kprintln!(
                            "task {} on core {} exited with status {}",
                            t.name,
                            percore::id(),
                            code
                        );
                    }
                }
                let ended = s.current;
                switch_to_next(s, frame);
                if let Some(i) = ended {
                    retire(s, i);
                }
            });
            return;
        }
    };
    frame.x[0] = match result {
        Ok(()) => 0,
        Err(e) => e as u64,
    };
}

fn debug_print(ptr: u64, len: u64) -> Result<(), Error> {
    if len > MAX_PRINT as u64 {
        return Err(Error::InvalidArgument);
    }
    let mut buf = [0u8; MAX_PRINT];
    let buf = &mut buf[..len as usize];
    let name = SCHED.with(|s| -> Result<&'static str, Error> {
        let t = s
            .current
            .and_then(|i| s.tasks[i].as_ref())
            .ok_or(Error::InvalidArgument)?;
        t.space.read(ptr, buf)?;
        Ok(t.name)
    })?;
    let text = core::str::from_utf8(buf).unwrap_or("<not UTF-8>");
    kprintln!(
        "[{}@{}] {}",
        name,
        percore::id(),
        text.trim_end_matches('\n')
    );
    Ok(())
}
