//! How the cores meet: notifications for every wait (a waiting core sleeps
//! in the kernel, so it costs no instructions under `-icount`), the
//! virtual counter around the timed section, and this core's event
//! counters around its own share of the work.
//!
//! Core 0 leads. Workers tell it on the notification `ack` (bit `shift +
//! core`: READY, DONE and STEP use different shifts, so a bit of the next
//! phase never merges with one not yet taken); it tells worker `i` on
//! `go[i]` (START, TOKEN, STEP, SETUP). Bits that arrive early are kept
//! until asked for. A failure on any core ends every core's task.

use core::arch::asm;
use ulib::cap::{signal, wait};
use ulib::{println, Error, Event};

ulib::bind! {
    /// The one global shared share of the shares benchmark.
    static GLOBAL: Slot = "global";
}

pub use meeting::meet;
use meeting::{ack, go};

/// The root slot of the share `global` (for `CPtr::via`).
pub fn global() -> u8 {
    GLOBAL.index().expect("the image grants share global")
}

/// Shifts of the bits on `ack`.
pub const READY: u32 = 0;
pub const DONE: u32 = 8;
pub const STEP_ACK: u32 = 16;
const FAILED: u64 = 1 << 63;
/// Bits on `go[i]`.
pub const START: u64 = 1;
pub const TOKEN: u64 = 2;
pub const STEP: u64 = 4;
pub const SETUP: u64 = 8;
const ABORT: u64 = 1 << 63;

/// Where each core leaves the events of its work (in the control page of
/// the shared range): 4 counters at `EVENTS + core * 32`.
pub const EVENTS_OFFSET: u64 = 0x100;

pub struct Ctx {
    pub core: usize,
    pub n: usize,
    /// The control page, in the shared range (set once it is linked).
    pub ctl: u64,
    ack_pending: u64,
    go_pending: u64,
}

/// The virtual counter and its frequency.
fn counter() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter (CNTKCTL_EL1).
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f) };
    (t, f)
}

/// The events of cross-core traffic, in `Event` order.
const TRAFFIC: [Event; 4] = [
    Event::SharedLock,
    Event::BroadcastTlbi,
    Event::Ipi,
    Event::GlobalPoolTake,
];

fn events() -> [u64; 4] {
    // The four events of cross-core traffic (not `Interrupt`).
    TRAFFIC.map(|e| ulib::read_event(e).unwrap_or(0))
}

impl Ctx {
    pub fn new(core: usize, n: usize) -> Ctx {
        Ctx {
            core,
            n,
            ctl: 0,
            ack_pending: 0,
            go_pending: 0,
        }
    }

    /// Ends the run: this core's task, and through core 0 every other.
    pub fn fail(&self, what: &str, e: Error) -> ! {
        println!("corey: FAIL on core {}: {}: {:?}", self.core, what, e);
        if self.core == 0 {
            for i in 1..self.n {
                let _ = signal(go(i), ABORT);
            }
        } else {
            let _ = signal(ack(), FAILED);
        }
        ulib::exit(1)
    }

    pub fn must<T>(&self, what: &str, r: Result<T, Error>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => self.fail(what, e),
        }
    }

    /// Worker: waits until `bit` arrived on its `go`.
    pub fn wait_go(&mut self, bit: u64) {
        while self.go_pending & bit == 0 {
            let got = self.must("wait go", wait(go(self.core)));
            if got & ABORT != 0 {
                ulib::exit(1);
            }
            self.go_pending |= got;
        }
        self.go_pending &= !bit;
    }

    pub fn signal_go(&self, core: usize, bit: u64) {
        self.must("signal go", signal(go(core), bit));
    }

    /// Core 0: waits until every worker sent its bit at `shift`.
    pub fn wait_acks(&mut self, shift: u32) {
        let want = (((1u64 << self.n) - 1) & !1) << shift;
        while self.ack_pending & want != want {
            let got = self.must("wait ack", wait(ack()));
            if got & FAILED != 0 {
                self.fail("a worker failed", Error::InvalidArgument);
            }
            self.ack_pending |= got;
        }
        self.ack_pending &= !want;
    }

    /// Worker: tells core 0 (bit `shift + core`).
    pub fn ack(&self, shift: u32) {
        self.must("signal ack", signal(ack(), 1 << (shift + self.core as u32)));
    }

    /// A barrier inside a timed section: every core has arrived when it returns.
    pub fn step(&mut self) {
        if self.core == 0 {
            self.wait_acks(STEP_ACK);
            for i in 1..self.n {
                self.signal_go(i, STEP);
            }
        } else {
            self.ack(STEP_ACK);
            self.wait_go(STEP);
        }
    }

    /// Every core runs `work` once all are ready; core 0 then runs `finish`
    /// once every core is done. Returns (core 0) the virtual nanoseconds
    /// from before the start signals to after `finish`, and the events
    /// every core's `work` caused (summed).
    pub fn timed(
        &mut self,
        mut work: impl FnMut(&mut Ctx),
        finish: impl FnOnce(&mut Ctx),
    ) -> (u64, [u64; 4]) {
        if self.core != 0 {
            self.ack(READY);
            self.wait_go(START);
            let before = events();
            work(self);
            self.store_events(before);
            self.ack(DONE);
            return (0, [0; 4]);
        }
        self.wait_acks(READY);
        let (t0, freq) = counter();
        for i in 1..self.n {
            self.signal_go(i, START);
        }
        let before = events();
        work(self);
        self.store_events(before);
        self.wait_acks(DONE);
        finish(self);
        let (t1, _) = counter();
        let ns = ((t1 - t0) as u128 * 1_000_000_000 / freq.max(1) as u128) as u64;
        let mut sum = [0u64; 4];
        for c in 0..self.n {
            for (k, s) in sum.iter_mut().enumerate() {
                *s += self.ctl_read(EVENTS_OFFSET + (c * 4 + k) as u64 * 8);
            }
        }
        (ns, sum)
    }

    fn store_events(&self, before: [u64; 4]) {
        let after = events();
        for k in 0..4 {
            let at = EVENTS_OFFSET + (self.core * 4 + k) as u64 * 8;
            self.ctl_write(at, after[k].wrapping_sub(before[k]));
        }
    }

    pub fn ctl_read(&self, offset: u64) -> u64 {
        // Safety: the control page is mapped read/write in the shared range
        // linked into every core's address space before any timed section.
        unsafe { ((self.ctl + offset) as *const u64).read_volatile() }
    }

    pub fn ctl_write(&self, offset: u64, v: u64) {
        // Safety: as `ctl_read`; each core writes only its own words.
        unsafe { ((self.ctl + offset) as *mut u64).write_volatile(v) }
    }
}

/// The `RESULT` line's event fields.
pub struct Events(pub [u64; 4]);

impl core::fmt::Display for Events {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [l, t, i, p] = self.0;
        write!(f, "locks={} tlbi={} ipis={} pool={}", l, t, i, p)
    }
}
