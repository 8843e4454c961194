//! The VideoCore mailbox (`device:mailbox`): one property call, polled,
//! through a page of the server's own, physically contiguous memory.
//!
//! The firmware reads and writes the message in RAM without looking in the
//! ARM cores' caches, so the page is cleaned to memory (`dc civac`) before
//! the call and cleaned and invalidated again after it, before it is read
//! (the kernel lets EL0 do this: `SCTLR_EL1.UCI`). The firmware is given
//! the page's bus address in its uncached alias (`0xc000_0000 | pa`, as
//! Linux does through the BCM2711's `dma-ranges`), which needs the page in
//! the first GiB of RAM.

use crate::property::{self, PropertyError, WORDS};
use crate::sdhci::Deadline;
use ulib::cap::{cap_delete, contiguous_at, map_device_page, segment_info, unmap};
use ulib::{slots, CPtr};

/// The mailbox's registers within the granted page (BCM2711: the page at
/// 0xfe00_b000 holds the ARM control block; the mailboxes are at 0x880).
const MAILBOX_OFFSET: usize = 0x880;
/// Mailbox 0 (the firmware to the ARM): read, status.
const READ: usize = 0x00;
const STATUS0: usize = 0x18;
/// Mailbox 1 (the ARM to the firmware): write, status.
const WRITE: usize = 0x20;
const STATUS1: usize = 0x38;
const FULL: u32 = 1 << 31;
const EMPTY: u32 = 1 << 30;
/// The property channel (ARM to VideoCore).
const CHANNEL: u32 = 8;
/// The uncached alias of RAM on the VideoCore's bus.
const BUS_ALIAS: u64 = 0xc000_0000;
/// How long the firmware may take to take and to answer a call.
const CALL_MS: u64 = 500;
/// Cache line (Cortex-A72).
const LINE: usize = 64;

/// Where the server maps the mailbox page and the message page.
const REGS_VA: u64 = 0x3001_0000;
const BUFFER_VA: u64 = 0x3002_0000;

/// Why the firmware was not asked, or did not answer.
#[derive(Clone, Copy, Debug)]
pub enum MailboxError {
    /// Mapping the mailbox page failed.
    Map(ulib::Error),
    /// No page for the message (making, mapping or locating it).
    Memory(ulib::Error),
    /// The message page is above the first GiB (its physical address),
    /// which the firmware cannot reach.
    Unreachable(u64),
    /// The mailbox stayed full: the firmware takes no call.
    Busy,
    /// No answer on the property channel in time.
    NoAnswer,
    /// The firmware answered without a rate.
    Property(PropertyError),
}

/// The rate in Hz of firmware clock `clock`, asked through the mailbox
/// whose page `mailbox` grants. The message page is freed again.
pub fn clock_rate(mailbox: CPtr, clock: u32) -> Result<u32, MailboxError> {
    let root = CPtr::root(slots::ROOT_RANGE);
    map_device_page(mailbox, REGS_VA).map_err(MailboxError::Map)?;
    let r = match contiguous_at(BUFFER_VA, 1) {
        Ok((slot, _)) => {
            let r = call(slot, clock);
            let _ = unmap(root, BUFFER_VA, 4096);
            let _ = cap_delete(slot);
            r
        }
        Err(e) => Err(MailboxError::Memory(e)),
    };
    let _ = unmap(root, REGS_VA, 4096);
    r
}

fn reg(offset: usize) -> *mut u32 {
    (REGS_VA as usize + MAILBOX_OFFSET + offset) as *mut u32
}

fn read(offset: usize) -> u32 {
    // Safety: the mailbox page is mapped uncached at REGS_VA (clock_rate
    // maps it before calling here); these are its registers.
    unsafe { reg(offset).read_volatile() }
}

fn write(offset: usize, value: u32) {
    // Safety: as in `read`.
    unsafe { reg(offset).write_volatile(value) }
}

/// `dc civac` over the message (one line holds it): its bytes reach RAM
/// and no line of it is left in the caches.
fn clean_invalidate() {
    let mut at = BUFFER_VA as usize;
    while at < BUFFER_VA as usize + WORDS * 4 {
        // Safety: the line is mapped readable (the message page); clean
        // and invalidate by address changes no value the program sees.
        unsafe { core::arch::asm!("dc civac, {0}", in(reg) at, options(nostack)) };
        at += LINE;
    }
    // Safety: a barrier; no memory or register is changed.
    unsafe { core::arch::asm!("dsb sy", options(nostack)) };
}

fn call(segment: CPtr, clock: u32) -> Result<u32, MailboxError> {
    let (pa, _) = segment_info(segment, 0).map_err(MailboxError::Memory)?;
    if pa >= 1 << 30 {
        return Err(MailboxError::Unreachable(pa));
    }
    let words = BUFFER_VA as *mut u32;
    for (i, w) in property::clock_rate_request(clock).iter().enumerate() {
        // Safety: the message page is mapped read-write at BUFFER_VA and
        // WORDS words fit in it.
        unsafe { words.add(i).write_volatile(*w) };
    }
    clean_invalidate();
    let message = (BUS_ALIAS | pa) as u32 | CHANNEL;
    let deadline = Deadline::after_ms(CALL_MS);
    while read(STATUS1) & FULL != 0 {
        if deadline.passed() {
            return Err(MailboxError::Busy);
        }
        ulib::wait::relax();
    }
    write(WRITE, message);
    loop {
        if read(STATUS0) & EMPTY == 0 && read(READ) == message {
            break;
        }
        if deadline.passed() {
            return Err(MailboxError::NoAnswer);
        }
        ulib::wait::relax();
    }
    clean_invalidate();
    let mut answer = [0u32; WORDS];
    for (i, w) in answer.iter_mut().enumerate() {
        // Safety: as above; the firmware has answered and the lines were
        // invalidated, so these loads see what it wrote.
        *w = unsafe { words.add(i).read_volatile() };
    }
    property::clock_rate_answer(&answer, clock).map_err(MailboxError::Property)
}
