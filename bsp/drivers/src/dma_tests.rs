//! Host tests of the DMA window's bookkeeping.

extern crate std;

use crate::dma::*;

const VA: usize = 0x6000_0000;
const PA: u64 = 0x4800_0000;

fn window(len: usize) -> Window {
    let w = Window::new();
    assert!(w.init(VA, PA, len));
    w
}

#[test]
fn window_init_rules() {
    let w = Window::new();
    assert!(w.alloc(1).is_none() && w.translate(VA, 1).is_none());
    assert!(!w.init(VA, PA, RESERVED - PAGE));
    assert!(!w.init(VA + 8, PA, RESERVED));
    assert!(!w.init(VA, PA + 8, RESERVED));
    assert!(w.init(VA, PA, RESERVED));
    assert!(!w.init(VA, PA, RESERVED), "set twice");
    assert_eq!(
        w.owner_area(),
        Some((VA + RESERVED, PA + RESERVED as u64, 0))
    );
}

#[test]
fn window_allocates_contiguous_pages_and_frees_them() {
    let w = window(RESERVED + PAGE);
    let a = w.alloc(2).unwrap();
    assert_eq!(a, (PA, VA));
    let b = w.alloc(3).unwrap();
    assert_eq!(b, (PA + 2 * PAGE as u64, VA + 2 * PAGE));
    assert!(w.alloc(4).is_none(), "only 3 pages left");
    assert!(w.free(a.0, 2));
    assert!(!w.free(a.0, 2), "freed twice");
    assert!(!w.free(PA + 1, 1));
    assert!(!w.free(PA + (ALLOC_PAGES * PAGE) as u64, 1));
    assert_eq!(w.alloc(2).unwrap(), a);
    assert!(w.alloc(0).is_none() && w.alloc(ALLOC_PAGES + 1).is_none());
}

#[test]
fn window_translates_only_what_is_inside() {
    let len = RESERVED + 4 * PAGE;
    let w = window(len);
    assert_eq!(w.translate(VA, len), Some(PA));
    assert_eq!(w.translate(VA + 100, 10), Some(PA + 100));
    assert_eq!(w.translate(VA, len + 1), None);
    assert_eq!(w.translate(VA - 1, 1), None);
    assert_eq!(w.translate(VA + len, 1), None);
    assert_eq!(w.translate(usize::MAX, 2), None);
}

#[test]
fn bounce_slots() {
    let w = window(RESERVED);
    assert!(w.bounce_take(BOUNCE_SLOT + 1).is_none());
    let mut got = std::vec::Vec::new();
    for i in 0..BOUNCE_SLOTS {
        let (va, pa) = w.bounce_take(16).unwrap();
        let off = ALLOC_PAGES * PAGE + i * BOUNCE_SLOT;
        assert_eq!((va, pa), (VA + off, PA + off as u64));
        assert_eq!(w.translate(va, 16), Some(pa));
        got.push(pa);
    }
    assert!(w.bounce_take(1).is_none(), "all taken");
    assert_eq!(
        w.bounce_release(got[3]),
        Some(VA + ALLOC_PAGES * PAGE + 3 * BOUNCE_SLOT)
    );
    assert_eq!(w.bounce_release(got[3]), None, "released twice");
    assert_eq!(w.bounce_release(PA), None, "not a bounce slot");
    assert_eq!(w.bounce_release(got[4] + 1), None);
    assert_eq!(w.bounce_take(1).map(|t| t.1), Some(got[3]));
}

#[repr(C, align(4096))]
struct Mem([u8; RESERVED + PAGE]);

#[test]
fn share_bounces_what_is_outside_and_copies_back() {
    let mut mem = std::boxed::Box::new(Mem([0xee; RESERVED + PAGE]));
    let va = mem.0.as_mut_ptr() as usize;
    let w = Window::new();
    assert!(w.init(va, PA, RESERVED + PAGE));
    // Safety (of every call below): `mem` is the window's memory, live and
    // used only through `w` here; the buffers are locals.
    unsafe {
        let (pa, got) = w.alloc_zeroed(2).unwrap();
        assert_eq!((pa, got), (PA, va));
        assert!(mem.0[..2 * PAGE].iter().all(|&b| b == 0));
        // Inside: in place.
        let inside = (va + RESERVED) as *const u8;
        assert_eq!(
            w.share(inside, 64, true, |_, _| None),
            Some(PA + RESERVED as u64)
        );
        // The caller's own contiguous memory.
        let mut other = [0u8; 16];
        let p = other.as_ptr();
        assert_eq!(w.share(p, 16, true, |_, _| Some(0x1234)), Some(0x1234));
        // Outside: bounced, filled, copied back.
        other = [7; 16];
        let pa = w.share(other.as_ptr(), 16, true, |_, _| None).unwrap();
        let slot = (pa - PA) as usize;
        assert_eq!(&mem.0[slot..slot + 16], &[7; 16]);
        mem.0[slot] = 9;
        w.unshare(pa, other.as_mut_ptr(), 16, true);
        assert_eq!(other[0], 9);
        assert!(w.bounce_release(pa).is_none(), "slot freed");
        assert!(w
            .share(other.as_ptr(), BOUNCE_SLOT + 1, true, |_, _| None)
            .is_none());
    }
}
