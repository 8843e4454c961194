//! The system-call fuzzer (docs/testing.md, *The fuzzer*). One instance
//! per core (images/fuzz.toml) issues seeded random and semi-valid system
//! calls and checks every result the arguments decide and that the
//! registers a call must preserve come back unchanged:
//!
//! - `random`: random call numbers and arguments;
//! - `life`: valid object life cycles with corrupted calls in between,
//!   against a model of the task's own slots;
//! - `cross`: copies and revokes between cores through a shared share;
//! - `sup`: the image's supervisor calls, from non-supervisors (refused)
//!   and from the supervisor itself, hostile; at the end it restarts every
//!   fuzzer once, and the new instances make a short run. A victim fuzzes
//!   and then faults, three times, restarted by the supervisor.
//!
//! The seed, the number of calls and a time limit come from [`PARAMS`],
//! which `cargo xtask fuzz` patches in the packed image (the defaults are
//! the short run of `cargo xtask test`). At the end each instance prints
//! its calls and their statuses, and exits 0 only if nothing was wrong;
//! the kernel's end-of-run checks (`objects: none left`, `memory: no
//! frames leaked`) then say whether any call lost memory or objects.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

mod cross;
mod layout;
mod life;
mod random;
mod rng;
mod stub;
mod sup;

use layout::{JUNK_END, JUNK_FIRST};
use rng::Rng;
use stub::{Sys, STATUSES};
use ulib::{Error, Syscall};

ulib::entry!(main);

/// What xtask patches: found by its magic, then seed, calls per instance,
/// and seconds of guest time (0: no limit).
#[repr(C)]
struct Params {
    magic: [u8; 16],
    seed: u64,
    calls: u64,
    secs: u64,
}

/// The magic `cargo xtask fuzz` looks for (`xtask/src/fuzz.rs`).
#[used]
static PARAMS: Params = Params {
    magic: *b"FUZZ-PARAMS-v1\0\0",
    seed: 1,
    calls: 100_000,
    secs: 0,
};

/// Calls of a fuzzer that the hostile supervisor started again.
const RESTARTED_CALLS: u64 = 2_000;
/// Calls the victim makes before each of its faults.
const VICTIM_CALLS: u64 = 4_000;
/// Iterations between clean-ups of the junk slots.
const CLEAN_EVERY: u64 = 512;

fn params() -> (u64, u64, u64) {
    // Safety: PARAMS is a live static; read volatile so that the values
    // xtask patched into the image are read, not the constants above.
    let p = unsafe { core::ptr::read_volatile(&PARAMS) };
    (p.seed, p.calls, p.secs)
}

fn now() -> (u64, u64) {
    let (t, f): (u64, u64);
    // Safety: the kernel lets EL0 read the virtual counter.
    unsafe {
        core::arch::asm!("isb", "mrs {0}, cntvct_el0", "mrs {1}, cntfrq_el0", out(reg) t, out(reg) f)
    };
    (t, f)
}

fn mix(seed: u64, start: &ulib::Start) -> u64 {
    let mut r = Rng::new(seed ^ (start.core as u64) << 32 ^ (start.slot as u64) << 40);
    r.next() ^ (start.restarts as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn main(start: ulib::Start) -> i32 {
    let supervisor = sup::is_supervisor();
    let victim_role = !supervisor && start.slot == 1;
    if victim_role && start.restarts >= sup::VICTIM_FAULTS {
        return sup::victim(start.restarts);
    }
    let (seed, calls, secs) = params();
    let budget = match (supervisor, victim_role, start.restarts) {
        (_, true, _) => VICTIM_CALLS,
        (_, _, 1..) => RESTARTED_CALLS,
        (true, _, 0) => calls / 4,
        _ => calls,
    };
    let cores = ulib::cap::core_count() as u64;
    let who = random::Who { cores, supervisor };
    let mut r = Rng::new(mix(seed, &start));
    let mut sys = Sys::new(start.core, r.next());
    let mut model = life::Model::new();
    let (t0, freq) = now();
    let mut waits = 0;
    let victim = supervisor && cores > sup::VICTIM_CORE;
    let mut i = 0u64;
    while sys.calls < budget {
        if secs != 0 && i.is_multiple_of(256) && now().0 - t0 >= secs * freq {
            break;
        }
        i += 1;
        if victim && waits < sup::VICTIM_FAULTS && sys.calls * 4 >= budget * (waits as u64 + 1) {
            sup::wait_fault(&mut sys);
            waits += 1;
            continue;
        }
        if i.is_multiple_of(CLEAN_EVERY) {
            clean(&mut sys);
        }
        match r.below(100) {
            0..55 => random::one(&mut r, &mut sys, &who),
            55..85 => model.step(&mut r, &mut sys),
            85..95 if !supervisor => cross::step(&mut r, &mut sys, start.core),
            _ if supervisor => sup::step(&mut r, &mut sys, cores),
            _ => random::one(&mut r, &mut sys, &who),
        }
    }
    // A supervisor that ran out of time before the victim's reports: take
    // them now, or the victim is never restarted.
    while victim && waits < sup::VICTIM_FAULTS {
        sup::wait_fault(&mut sys);
        waits += 1;
    }
    if supervisor {
        sup::finish(&mut sys, cores);
    }
    let role = match (supervisor, victim_role) {
        (true, _) => "supervisor",
        (_, true) => "victim",
        _ => "core",
    };
    report(&sys, &start, role, seed);
    if victim_role {
        // Ends by a fault, holding whatever its calls made: the kernel
        // tears a faulted task down as it does one that exits.
        ulib::fault_on_purpose();
    }
    if sys.failures == 0 {
        0
    } else {
        1
    }
}

/// Deletes whatever the random calls left in the junk slots (memory they
/// hold would starve the other parts).
fn clean(sys: &mut Sys) {
    for s in JUNK_FIRST..JUNK_END {
        let ok = [0, Error::InvalidCapability as u64];
        sys.expect_any(Syscall::CapDelete as u64, [s as u64, 0, 0, 0, 0, 0], &ok);
    }
}

/// Two lines `cargo xtask fuzz` reads: the counts, and the statuses
/// (`code:count`, 16 = not an error code).
fn report(sys: &Sys, start: &ulib::Start, role: &str, seed: u64) {
    ulib::println!(
        "fuzz {} {} restart {}: seed {:#x}: {} calls, {} results checked, {} failures, {} registers changed, {} pages touched",
        role,
        start.core,
        start.restarts,
        seed,
        sys.calls,
        sys.checked,
        sys.failures,
        sys.clobbers,
        sys.touched
    );
    let mut line = ulib::Line::new();
    let _ = core::fmt::write(
        &mut line,
        format_args!(
            "fuzz {} {} restart {}: statuses",
            role, start.core, start.restarts
        ),
    );
    for (code, n) in sys.statuses.iter().enumerate().take(STATUSES) {
        if *n != 0 {
            let _ = core::fmt::write(&mut line, format_args!(" {}:{}", code, n));
        }
    }
    ulib::println!("{}", line.as_str());
}
