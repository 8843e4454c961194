//! Spins forever at EL0, never making a system call: a task that hangs a
//! run. Only the run's time limit (`cargo xtask qemu --timeout S`, which
//! every test sets) ends it, with a report naming this task on its core.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(_start: ulib::Start) -> i32 {
    let mut n = 0u64;
    loop {
        n = core::hint::black_box(n.wrapping_add(1));
    }
}
