//! A test build of the console server whose first instance crashes after
//! 50 lines, at least 10 of each client's (the supervisor restarts it; clients get errors for what was
//! in flight). The fault is injected here, through the server's test-only
//! hook, not in the server.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

ulib::entry!(main);

fn main(start: ulib::Start) -> i32 {
    let first = start.restarts == 0;
    console::run_with_test_hook(start, |p: console::Progress<'_>| {
        // Both clients have something in flight: lines, or (a client that
        // finished before the other got going, which a pass of up to 16
        // lines makes possible when one client starts late) the `Done`
        // it sent after its last; so each sees the restart whatever the
        // cores' speeds.
        if first && p.lines >= 50 && p.fewest >= 10 {
            p.say("console: crashing on purpose (test build)");
            ulib::fault_on_purpose();
        }
    })
}
