//! Every refusal, one test each: the exact error, and nothing changed.

mod link;
mod map;
mod unmap;

use super::SimPool;
use crate::range::{AddressRange, SegmentInfo, USER_TOP};
use abi::{Error, Rights};

const RW: Rights = Rights::READ.union(Rights::WRITE);
/// Every right a link can let through.
const RWX: Rights = RW.union(Rights::EXECUTE);
const MIB2: u64 = 0x20_0000;
const GIB1: u64 = 0x4000_0000;
const RAM: SegmentInfo = SegmentInfo {
    pa: 0x8000_0000,
    size: 0x10_0000,
    device: false,
};
const UART: SegmentInfo = SegmentInfo {
    pa: 0x0900_0000,
    size: 0x1000,
    device: true,
};

/// A pool, a root (ASID 1) with one RW page at 0x1000, a 2 MiB block at
/// 0x4000_0000, and a 2 MiB shared range at 0x4060_0000 linked into it.
struct World {
    pool: SimPool,
    root: AddressRange,
    shared: AddressRange,
}

fn world() -> World {
    let mut pool = SimPool::new();
    let mut root = AddressRange::new_private(&mut pool, 1, 0, USER_TOP).unwrap();
    let mut shared = AddressRange::new_shared(&mut pool, 0x4060_0000, MIB2).unwrap();
    let big = SegmentInfo {
        pa: 0x8000_0000,
        size: 0x40_0000,
        device: false,
    };
    root.map_segment(&mut pool, 0x1000, &RAM, 0, 0x1000, RW)
        .unwrap();
    root.map_segment(&mut pool, GIB1, &big, 0, MIB2, RW)
        .unwrap();
    root.map_range(&mut pool, 0x4060_0000, &mut shared, RWX)
        .unwrap();
    World { pool, root, shared }
}

impl World {
    fn map(&mut self, offset: u64, seg: &SegmentInfo, seg_off: u64, len: u64, r: Rights) -> Error {
        let before = self.pool.live();
        let e = self
            .root
            .map_segment(&mut self.pool, offset, seg, seg_off, len, r)
            .unwrap_err();
        assert_eq!(self.pool.live(), before);
        e
    }

    fn unmap(&mut self, offset: u64, len: u64) -> Error {
        // A long `Unmap`'s first piece checks the whole span: the same
        // refusal, and nothing changed.
        let piece = self.root.unmap_some(&mut self.pool, offset, len, true);
        let e = self.root.unmap(&mut self.pool, offset, len).unwrap_err();
        assert_eq!(piece.unwrap_err(), e);
        let e = self.root.unmap(&mut self.pool, offset, len).unwrap_err();
        // Still mapped as before.
        assert!(self.root.translate(&mut self.pool, 0x1000).is_some());
        assert!(self.root.translate(&mut self.pool, GIB1).is_some());
        e
    }
}
