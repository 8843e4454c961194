//! A `Map` longer than one chunk (the kernel maps a span 2 MiB of address
//! at a time, taking the range's lock for each: docs/address-ranges.md)
//! that fails in a later chunk undoes the chunks it did, and the same map
//! with the way clear maps every chunk.

use super::{mapped, read, write, PAGE, ROOT, RW};
use ulib::cap::*;
use ulib::checks::Checks;
use ulib::{CPtr, Error};

/// A segment of one chunk and a page.
const BIG: CPtr = CPtr::root(41);
const PAGES: u64 = 513;
/// Where it goes in the task's own range: a chunk boundary.
const AT: u64 = 0x3000_0000;
const CHUNK: u64 = 2 << 20;

pub fn chunked_map(c: &mut Checks) {
    c.ok("segment of a chunk and a page", segment_create(BIG, PAGES));
    c.ok(
        "a page in the second chunk",
        map(ROOT, AT + CHUNK, BIG, 0, PAGE, RW),
    );
    c.expect(
        "a map across it fails in its second chunk",
        map(ROOT, AT, BIG, 0, PAGES * PAGE, RW),
        Error::Overlap,
    );
    c.check(
        "its first chunk is undone",
        !mapped(AT) && !mapped(AT + CHUNK - PAGE),
    );
    c.check("the page in the way is left", mapped(AT + CHUNK));
    c.ok("unmap that page", unmap(ROOT, AT + CHUNK, PAGE));
    c.ok(
        "the map with the way clear",
        map(ROOT, AT, BIG, 0, PAGES * PAGE, RW),
    );
    write(AT, 0x5a);
    write(AT + CHUNK, 0xa5);
    c.check(
        "both chunks mapped",
        read(AT) == 0x5a && read(AT + CHUNK) == 0xa5,
    );
    c.ok("unmap it", unmap(ROOT, AT, PAGES * PAGE));
    c.ok("free it", cap_delete(BIG));
}
