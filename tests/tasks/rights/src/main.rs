//! Rights give exactly the access they name (issue 16). Core 0's first
//! task (the owner) checks, on its own core, the rights each object is
//! made with and that every call refuses a capability lacking the right it
//! needs (segments, ranges, shares, notifications; copies only lose
//! rights). Then it makes a shared range holding a data page and a code
//! page, links it with every right, and leaves a capability to it in the
//! image's shared share `meet`. Cores 1-3 copy it out with fewer rights
//! and link it: core 1 with read/execute, core 2 read-only, core 3
//! read/write. Core 3 writes through its link; cores 1 and 2 read what it
//! wrote, then each writes through its own link without WRITE and faults
//! (a permission fault, reported by the kernel); core 3 jumps into the
//! code page through its link without EXECUTE and faults. Core 0's second
//! task links a private range read-only and faults on its write too. The
//! owner hears of each end through its exit signal and checks the page
//! still holds core 3's write.
#![no_std]
#![no_main]
#![forbid(unsafe_op_in_unsafe_fn)]

use meeting::{ack, go, meet};
use ulib::cap::*;
use ulib::checks::Checks;
use ulib::{println, slots, CPtr, Error, ObjectKind, Rights};

ulib::entry!(main);

const ROOT: CPtr = CPtr::root(slots::ROOT_RANGE);
const ROOT_SHARE: CPtr = CPtr::root(slots::ROOT_SHARE);
const RANGE: CPtr = CPtr::root(10);
const DATA: CPtr = CPtr::root(11);
const CODE: CPtr = CPtr::root(12);
const PROBE: CPtr = CPtr::root(13);

const PAGE: u64 = 4096;
/// The shared range: data page first, code page second.
const SHARED_BASE: u64 = 0x1_4000_0000;
const CODE_VA: u64 = SHARED_BASE + PAGE;
/// Where the owner writes the code before mapping it executable.
const STAGING_VA: u64 = 0x3000_0000;
/// The private range of core 0's second task.
const PRIV_BASE: u64 = 0x1_8000_0000;
/// Ranges the owner's own checks make.
const CHECK_BASE: u64 = 0x1_c000_0000;

/// The owner's data and core 3's.
const P: u64 = 0x4f57_4e45_5221_2121;
const Q: u64 = 0x5752_4954_4552_2133;
/// What a linker without WRITE tries to write.
const BAD: u64 = 0xbad0_bad0_bad0_bad0;
/// `mov x0, #42; ret`.
const CODE_WORDS: [u32; 2] = [0xd280_0540, 0xd65f_03c0];

const R: Rights = Rights::READ;
const W: Rights = Rights::WRITE;
const X: Rights = Rights::EXECUTE;
const G: Rights = Rights::GRANT;
const RW: Rights = R.union(W);
const RX: Rights = R.union(X);
const RWX: Rights = RW.union(X);

/// Bits on `ack`: a linker on core c linked and read (`1 << c`), read core
/// 3's write (`1 << (8 + c)`); core 3 wrote; the kernel's exit signals.
const fn linked(core: usize) -> u64 {
    1 << core
}
const fn read_back(core: usize) -> u64 {
    1 << (8 + core)
}
const WROTE: u64 = 1 << 7;
/// Exit signals of cores 1..3 (`1 << (16 + c)`) and of core 0's second
/// task (images/rights.toml).
const ENDED: u64 = 0b1111 << 16;
/// Bits on a linker's `go`: link, read core 3's write (or write it), fault.
const GO_LINK: u64 = 1;
const GO_SECOND: u64 = 2;
const GO_FAULT: u64 = 4;

/// The rights core `c`'s link is made with.
const fn link_mask(core: usize) -> Rights {
    match core {
        1 => RX,
        2 => R,
        _ => RW,
    }
}

fn read(va: u64) -> u64 {
    // Safety: callers read addresses linked or mapped readable just before.
    unsafe { (va as *const u64).read_volatile() }
}

fn write(va: u64, v: u64) {
    // Safety: callers write pages mapped writable, or (where the test wants
    // the fault) pages linked without WRITE: the store faults and the
    // kernel stops the task before anything depends on it.
    unsafe { (va as *mut u64).write_volatile(v) }
}

/// Calls the code at `va`: 42 if it is `CODE_WORDS`.
fn call(va: u64) -> u64 {
    // Safety: `va` holds `CODE_WORDS`, a complete function that touches
    // nothing but x0, mapped executable; or (where the test wants the
    // fault) linked without EXECUTE: the fetch faults and the kernel stops
    // the task.
    let f: extern "C" fn() -> u64 = unsafe { core::mem::transmute(va as usize) };
    f()
}

fn must<T>(what: &str, r: Result<T, Error>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => {
            println!("rights: FAIL {}: {:?}", what, e);
            ulib::exit(1)
        }
    }
}

/// Bits of one notification, kept across waits (a wait takes every bit,
/// wanted now or not).
struct Bits {
    at: CPtr,
    got: u64,
}

impl Bits {
    fn until(&mut self, want: u64) {
        while self.got & want != want {
            self.got |= must("wait", wait(self.at));
        }
        self.got &= !want;
    }
}

/// `cap_info(at)` must be exactly `kind` with `rights`.
fn info(c: &mut Checks, what: &str, at: CPtr, kind: ObjectKind, rights: Rights) {
    let got = cap_info(at);
    if got == Ok((kind, rights)) {
        c.passed += 1;
    } else {
        c.fail(format_args!(
            "{}: got {:?}, want {:?} {:?}",
            what, got, kind, rights
        ));
    }
}

/// What each object is made with, and copies that only lose rights.
fn made_with(c: &mut Checks) {
    use ObjectKind::*;
    let s = CPtr::root(20);
    c.ok("segment", segment_create(s, 1));
    info(c, "a new segment has every right", s, Segment, Rights::ALL);
    c.ok("range", range_create(CPtr::root(21), CHECK_BASE, 2 << 20));
    let all = Rights::ALL;
    info(
        c,
        "a new range has every right",
        CPtr::root(21),
        AddressRange,
        all,
    );
    let base = CHECK_BASE + (2 << 20);
    c.ok(
        "private range",
        range_create_private(CPtr::root(22), base, 2 << 20),
    );
    info(
        c,
        "so has a private range",
        CPtr::root(22),
        AddressRange,
        all,
    );
    c.ok("shared share", share_create(CPtr::root(23), true));
    info(c, "a new share has every right", CPtr::root(23), Share, all);
    c.ok("notification", notify_create(CPtr::root(24)));
    let rwg = RW.union(G);
    info(
        c,
        "a notification: read, write, grant",
        CPtr::root(24),
        Notification,
        rwg,
    );
    info(
        c,
        "the address space: read, write, execute",
        ROOT,
        AddressRange,
        RWX,
    );
    info(c, "the root share: read, write", ROOT_SHARE, Share, RW);
    // Copies only lose rights, whatever the mask asks for.
    c.ok("copy R", cap_copy(s, CPtr::root(25), R));
    info(c, "a copy has the rights asked", CPtr::root(25), Segment, R);
    c.ok(
        "copy of the copy",
        cap_copy(CPtr::root(25), CPtr::root(26), all),
    );
    info(c, "a copy never gains a right", CPtr::root(26), Segment, R);
    let into_shared = cap_copy(CPtr::root(25), CPtr::via(23, 0), all);
    c.expect(
        "no GRANT: stays in its share",
        into_shared,
        Error::MissingRights,
    );
    c.ok("copy RG", cap_copy(s, CPtr::root(27), R.union(G)));
    c.ok(
        "into a shared share",
        cap_copy(CPtr::root(27), CPtr::via(23, 0), all),
    );
    let rg = R.union(G);
    info(
        c,
        "export keeps only its rights",
        CPtr::via(23, 0),
        Segment,
        rg,
    );
    c.ok("and back", cap_copy(CPtr::via(23, 0), CPtr::root(28), all));
    info(
        c,
        "import keeps only its rights",
        CPtr::root(28),
        Segment,
        rg,
    );
    for at in [28u8, 27, 26, 25, 24, 23, 22, 21, 20] {
        c.ok("cleanup", cap_delete(CPtr::root(at)));
    }
}

/// Segments: map needs every right asked; SegmentInfo needs READ.
fn segment_rights(c: &mut Checks) {
    let (s, s_r, s_w, s_rw, s_rx) = (20, 21, 22, 23, 24).map_root();
    c.ok("segment", segment_create(s, 1));
    for (at, m) in [(s_r, R), (s_w, W), (s_rw, RW), (s_rx, RX)] {
        c.ok("copy", cap_copy(s, at, m));
    }
    let va = STAGING_VA;
    let e = Error::MissingRights;
    c.expect("map RW with R", map(ROOT, va, s_r, 0, PAGE, RW), e);
    c.expect("map RX with RW", map(ROOT, va, s_rw, 0, PAGE, RX), e);
    c.expect("map R with W", map(ROOT, va, s_w, 0, PAGE, R), e);
    c.expect("segment info without R", segment_info(s_w, 0), e);
    c.ok("segment info with R", segment_info(s_r, 0));
    c.ok("map R with R", map(ROOT, va, s_r, 0, PAGE, R));
    c.ok("unmap", unmap(ROOT, va, PAGE));
    c.ok("map RX with RX", map(ROOT, va, s_rx, 0, PAGE, RX));
    c.ok("unmap", unmap(ROOT, va, PAGE));
    // The address space without EXECUTE maps nothing executable.
    let root_rw = CPtr::root(25);
    c.ok("copy of the address space", cap_copy(ROOT, root_rw, RW));
    c.expect("RX into it", map(root_rw, va, s_rx, 0, PAGE, RX), e);
    c.ok("RW into it", map(root_rw, va, s_rw, 0, PAGE, RW));
    c.ok("unmap", unmap(root_rw, va, PAGE));
    for at in [root_rw, s_rx, s_rw, s_w, s_r, s] {
        c.ok("cleanup", cap_delete(at));
    }
}

/// Ranges: map and unmap need WRITE (and EXECUTE for executable
/// mappings), link and unlink READ.
fn range_rights(c: &mut Checks) {
    let (r, r_r, r_w, r_rw, s, s_rx) = (20, 21, 22, 23, 24, 25).map_root();
    let base = CHECK_BASE;
    c.ok("range", range_create(r, base, 2 << 20));
    c.ok("segment", segment_create(s, 1));
    c.ok("segment RX", cap_copy(s, s_rx, RX));
    for (at, m) in [(r_r, R), (r_w, W), (r_rw, RW)] {
        c.ok("copy", cap_copy(r, at, m));
    }
    let e = Error::MissingRights;
    c.expect("map without W", map(r_r, base, s, 0, PAGE, RW), e);
    c.ok("map with W", map(r_w, base, s, 0, PAGE, RW));
    c.expect("unmap without W", unmap(r_r, base, PAGE), e);
    c.ok("unmap with W", unmap(r_w, base, PAGE));
    c.expect("map RX without X", map(r_rw, base, s_rx, 0, PAGE, RX), e);
    c.ok("map RX with X", map(r, base, s_rx, 0, PAGE, RX));
    c.ok("unmap", unmap(r, base, PAGE));
    c.expect("link without R", link(r_w), e);
    c.expect("unlink without R", unlink(r_w), e);
    c.ok("link with R", link(r_r));
    c.ok("unlink with R", unlink(r_r));
    for at in [s_rx, s, r_rw, r_w, r_r, r] {
        c.ok("cleanup", cap_delete(at));
    }
}

/// Shares: reading a slot through one needs READ, changing one WRITE.
fn share_rights(c: &mut Checks) {
    let (sh, sh_r, sh_w, s) = (20, 21, 22, 23).map_root();
    c.ok("share", share_create(sh, true));
    c.ok("segment", segment_create(s, 1));
    c.ok("into the share", cap_copy(s, CPtr::via(20, 0), Rights::ALL));
    c.ok("copy R", cap_copy(sh, sh_r, R));
    c.ok("copy W", cap_copy(sh, sh_w, W));
    let e = Error::MissingRights;
    let (via_r, via_w) = (CPtr::via(21, 0), CPtr::via(22, 0));
    c.ok("look up with R", cap_info(via_r));
    c.ok("copy out with R", cap_copy(via_r, CPtr::root(24), R));
    c.expect("insert with R", cap_copy(s, CPtr::via(21, 1), R), e);
    c.expect("delete with R", cap_delete(via_r), e);
    c.expect("revoke with R", cap_revoke(via_r), e);
    c.expect("look up with W", cap_info(via_w), e);
    c.expect("copy out with W", cap_copy(via_w, CPtr::root(25), R), e);
    c.ok("insert with W", cap_copy(s, CPtr::via(22, 1), R.union(G)));
    c.ok("delete with W", cap_delete(CPtr::via(22, 1)));
    for at in [CPtr::root(24), sh_w, sh_r, s, sh] {
        c.ok("cleanup", cap_delete(at));
    }
}

/// Notifications: signal needs WRITE, wait READ.
fn notification_rights(c: &mut Checks) {
    let (n, n_r, n_w) = (20, 21, 22).map_root();
    c.ok("notification", notify_create(n));
    c.ok("copy R", cap_copy(n, n_r, R));
    c.ok("copy W", cap_copy(n, n_w, W));
    let e = Error::MissingRights;
    c.expect("signal without W", signal(n_r, 1), e);
    c.expect("wait without R", poll(n_w), e);
    c.ok("signal with W", signal(n_w, 0b10));
    c.check("wait with R", poll(n_r) == Ok(0b10));
    for at in [n_w, n_r, n] {
        c.ok("cleanup", cap_delete(at));
    }
}

/// Tuples of root slot indices as `CPtr`s.
trait MapRoot {
    type Out;
    fn map_root(self) -> Self::Out;
}

impl MapRoot for (u8, u8, u8) {
    type Out = (CPtr, CPtr, CPtr);
    fn map_root(self) -> Self::Out {
        (CPtr::root(self.0), CPtr::root(self.1), CPtr::root(self.2))
    }
}

impl MapRoot for (u8, u8, u8, u8) {
    type Out = (CPtr, CPtr, CPtr, CPtr);
    fn map_root(self) -> Self::Out {
        let (a, b, c) = (self.0, self.1, self.2).map_root();
        (a, b, c, CPtr::root(self.3))
    }
}

impl MapRoot for (u8, u8, u8, u8, u8) {
    type Out = (CPtr, CPtr, CPtr, CPtr, CPtr);
    fn map_root(self) -> Self::Out {
        let (a, b, c, d) = (self.0, self.1, self.2, self.3).map_root();
        (a, b, c, d, CPtr::root(self.4))
    }
}

impl MapRoot for (u8, u8, u8, u8, u8, u8) {
    type Out = (CPtr, CPtr, CPtr, CPtr, CPtr, CPtr);
    fn map_root(self) -> Self::Out {
        let (a, b, c, d, e) = (self.0, self.1, self.2, self.3, self.4).map_root();
        (a, b, c, d, e, CPtr::root(self.5))
    }
}

fn owner() -> i32 {
    let mut c = Checks::new("rights");
    made_with(&mut c);
    segment_rights(&mut c);
    range_rights(&mut c);
    share_rights(&mut c);
    notification_rights(&mut c);
    if c.failed == 0 {
        println!(
            "rights: every check of rights on one core passed ({} checks)",
            c.passed
        );
    }
    // The shared range: data page RW, code page RX.
    must("data segment", segment_create(DATA, 1));
    must("code segment", segment_create(CODE, 1));
    must("shared range", range_create(RANGE, SHARED_BASE, 2 << 20));
    must("map data", map(RANGE, SHARED_BASE, DATA, 0, PAGE, RW));
    must("stage code", map(ROOT, STAGING_VA, CODE, 0, PAGE, RW));
    for (i, w) in CODE_WORDS.iter().enumerate() {
        let at = (STAGING_VA + 4 * i as u64) as *mut u32;
        // Safety: the staging page was mapped read/write just above.
        unsafe { at.write_volatile(*w) };
    }
    must("unstage code", unmap(ROOT, STAGING_VA, PAGE));
    must("map code", map(RANGE, CODE_VA, CODE, 0, PAGE, RX));
    must("link", link(RANGE));
    write(SHARED_BASE, P);
    let ran = call(CODE_VA);
    c.check("the owner runs the code through its link", ran == 42);
    if c.failed == 0 {
        println!("owner: wrote and executed through its own link (every right)");
    }
    let meet0 = CPtr::via(meet(), 0);
    must("range to meet", cap_copy(RANGE, meet0, Rights::ALL));
    let go = |core: usize, bits| must("go", signal(go(core), bits));
    let mut acks = Bits { at: ack(), got: 0 };
    for core in 1..=3 {
        go(core, GO_LINK);
    }
    acks.until(linked(1) | linked(2) | linked(3));
    go(3, GO_SECOND);
    acks.until(WROTE);
    c.check("the owner reads core 3's write", read(SHARED_BASE + 8) == Q);
    go(1, GO_SECOND);
    go(2, GO_SECOND);
    acks.until(read_back(1) | read_back(2));
    for core in 1..=3 {
        go(core, GO_FAULT);
    }
    acks.until(ENDED);
    let kept = read(SHARED_BASE + 8) == Q && read(SHARED_BASE) == P;
    c.check("no write through a link without WRITE landed", kept);
    c.check("the code is intact", call(CODE_VA) == 42);
    if c.failed == 0 {
        println!(
            "owner: every linker without write faulted on its write, the one without execute on its fetch; the page holds core 3's write"
        );
    }
    must("unlink", unlink(RANGE));
    for at in [meet0, RANGE, CODE, DATA] {
        must("cleanup", cap_delete(at));
    }
    if c.failed == 0 {
        0
    } else {
        println!(
            "rights: {} of {} checks FAILED",
            c.failed,
            c.passed + c.failed
        );
        1
    }
}

/// Core `core`'s linker: links the owner's range with `link_mask(core)`.
fn linker(core: usize) -> i32 {
    let mask = link_mask(core);
    let mut go = Bits {
        at: go(core),
        got: 0,
    };
    let mut c = Checks::new("rights");
    must("probe", segment_create(PROBE, 1));
    go.until(GO_LINK);
    // A copy holds what its mask leaves, and never more again.
    let meet0 = CPtr::via(meet(), 0);
    must("copy range", cap_copy(meet0, RANGE, mask));
    info(
        &mut c,
        "the copy's rights",
        RANGE,
        ObjectKind::AddressRange,
        mask,
    );
    must("copy again", cap_copy(RANGE, CPtr::root(14), Rights::ALL));
    let again = CPtr::root(14);
    info(
        &mut c,
        "a copy of it gains nothing",
        again,
        ObjectKind::AddressRange,
        mask,
    );
    must("delete", cap_delete(again));
    let refused = Err(Error::MissingRights);
    if !mask.contains(W) {
        let to = SHARED_BASE + 2 * PAGE;
        c.check(
            "map without W",
            map(RANGE, to, PROBE, 0, PAGE, R) == refused,
        );
        c.check(
            "unmap without W",
            unmap(RANGE, SHARED_BASE, PAGE) == refused,
        );
    }
    must("link", link(RANGE));
    c.check("reads the owner's data", read(SHARED_BASE) == P);
    if mask.contains(X) {
        c.check("runs the owner's code", call(CODE_VA) == 42);
    }
    // Go on after a failed check: the steps after it show more.
    let ok = c.failed == 0;
    match core {
        _ if !ok => println!("rights: linker on core {} FAILED", core),
        1 => println!(
            "reader on core 1: linked with read/execute: read the owner's data, ran its code, map and unmap refused"
        ),
        2 => println!(
            "reader on core 2: linked read-only: read the owner's data, map and unmap refused"
        ),
        _ => println!("writer on core 3: linked read/write: read the owner's data"),
    }
    must("ack", signal(ack(), linked(core)));
    go.until(GO_SECOND);
    if core == 3 {
        write(SHARED_BASE + 8, Q);
        if read(SHARED_BASE + 8) != Q {
            println!("rights: FAIL core 3 does not read its own write");
            return 1;
        }
        println!("writer on core 3: wrote through its read/write link");
        must("ack", signal(ack(), WROTE));
        go.until(GO_FAULT);
        println!("writer on core 3: running the code through a link without execute");
        let r = call(CODE_VA);
        println!(
            "rights: FAIL core 3 ran code through a link without EXECUTE (got {})",
            r
        );
        return 1;
    }
    let seen = read(SHARED_BASE + 8);
    if seen != Q {
        println!(
            "rights: FAIL core {} read {:#x}, not core 3's write",
            core, seen
        );
        return 1;
    }
    println!(
        "reader on core {}: read core 3's write through its link without write",
        core
    );
    must("ack", signal(ack(), read_back(core)));
    go.until(GO_FAULT);
    println!(
        "reader on core {}: writing through its link without write",
        core
    );
    write(SHARED_BASE + 8, BAD);
    println!(
        "rights: FAIL core {} wrote through a link without WRITE (the page now holds {:#x})",
        core,
        read(SHARED_BASE + 8)
    );
    1
}

/// Core 0's second task: a private range linked read-only.
fn private_linker() -> i32 {
    let (range, ro, seg) = (20, 21, 22).map_root();
    must(
        "private range",
        range_create_private(range, PRIV_BASE, 2 << 20),
    );
    must("segment", segment_create(seg, 1));
    must("map", map(range, PRIV_BASE, seg, 0, PAGE, RW));
    must(
        "and in the address space",
        map(ROOT, STAGING_VA, seg, 0, PAGE, RW),
    );
    write(STAGING_VA, P);
    must("read-only copy", cap_copy(range, ro, R));
    must("link read-only", link(ro));
    if read(PRIV_BASE) != P {
        println!("rights: FAIL the private linker does not read its page");
        return 1;
    }
    println!("private linker on core 0: read through its read-only link; writing through it");
    write(PRIV_BASE, BAD);
    println!("rights: FAIL wrote through a read-only link of a private range");
    1
}

fn main(start: ulib::Start) -> i32 {
    match (start.core, start.slot) {
        (0, 0) => owner(),
        (0, _) => private_linker(),
        (core, _) => linker(core),
    }
}
