//! Random sequences of map / unmap / link / unlink over two address spaces
//! and two shared ranges (2 MiB and 1 GiB), against a reference model: a
//! map from page to (physical page, rights) per range, with links resolved
//! at lookup. After every operation: the same result (error included),
//! the same translations at sampled addresses, every removed page covered by
//! the invalidation asked for, and no table leaked.

mod run;

use super::*;
use crate::range::{SegmentInfo, USER_TOP};
use abi::{Error, Rights};
use std::collections::BTreeMap;
use std::vec::Vec;

const PAGE: u64 = 0x1000;
const MIB2: u64 = 0x20_0000;
const GIB1: u64 = 0x4000_0000;

/// Spaces 0 and 1 are roots (ASIDs 1, 2); 2 and 3 are the shared ranges.
const SHARED_BASE: [u64; 2] = [0x4020_0000, 0x8000_0000];
const SHARED_SIZE: [u64; 2] = [MIB2, GIB1];
/// Where root operations land: next to the small shared range, inside the
/// large one's gigabyte, and somewhere nothing else is.
const ROOT_REGIONS: [u64; 3] = [0x4000_0000, 0x8000_0000, 0x1_0000_0000];

const SEGMENTS: [SegmentInfo; 3] = [
    SegmentInfo {
        pa: 0x10_0000_0000,
        size: 0x200_0000,
        device: false,
    },
    SegmentInfo {
        pa: 0x20_0010_0000,
        size: 0x80_0000,
        device: false,
    },
    SegmentInfo {
        pa: 0x0900_0000,
        size: 0x1_0000,
        device: true,
    },
];

const R: Rights = Rights::READ;
const RW: Rights = Rights::READ.union(Rights::WRITE);
const RX: Rights = Rights::READ.union(Rights::EXECUTE);
const RWX: Rights = RW.union(Rights::EXECUTE);

/// What the model keeps per page: physical page, rights, and the 2 MiB
/// block the page is part of, if it was mapped as one.
type Pages = BTreeMap<u64, (u64, Rights, Option<u64>)>;

struct Model {
    pages: [Pages; 4],
    /// `links[root][shared]`: the rights the link lets through, if linked.
    links: [[Option<Rights>; 2]; 2],
}

impl Model {
    fn base(space: usize) -> u64 {
        if space < 2 {
            0
        } else {
            SHARED_BASE[space - 2]
        }
    }

    fn size(space: usize) -> u64 {
        if space < 2 {
            USER_TOP
        } else {
            SHARED_SIZE[space - 2]
        }
    }

    /// Links of `root` whose span meets `[va, end)`.
    fn links_meeting(&self, root: usize, va: u64, end: u64) -> bool {
        (0..2).any(|s| {
            self.links[root][s].is_some()
                && SHARED_BASE[s] < end
                && va < SHARED_BASE[s] + SHARED_SIZE[s]
        })
    }

    fn lookup(&self, space: usize, va: u64) -> Option<(u64, Rights)> {
        let page = va & !(PAGE - 1);
        let hit = |p: &Pages| p.get(&page).map(|&(pa, r, _)| (pa + (va - page), r));
        if let Some(t) = hit(&self.pages[space]) {
            return Some(t);
        }
        if space < 2 {
            for s in 0..2 {
                let inside = va >= SHARED_BASE[s] && va - SHARED_BASE[s] < SHARED_SIZE[s];
                if let (Some(through), true) = (self.links[space][s], inside) {
                    // A link only takes rights away.
                    return hit(&self.pages[2 + s]).map(|(pa, r)| (pa, r.intersect(through)));
                }
            }
        }
        None
    }

    fn map(
        &mut self,
        space: usize,
        off: u64,
        seg: usize,
        so: u64,
        len: u64,
        r: Rights,
    ) -> Result<(), Error> {
        let seg = &SEGMENTS[seg];
        if seg.device && r.contains(Rights::EXECUTE) {
            return Err(Error::InvalidArgument);
        }
        if off + len > Model::size(space) {
            return Err(Error::OutOfRange);
        }
        if so + len > seg.size {
            return Err(Error::TooSmall);
        }
        let va = Model::base(space) + off;
        let end = va + len;
        let taken = self.pages[space].range(va..end).next().is_some();
        if taken || (space < 2 && self.links_meeting(space, va, end)) {
            return Err(Error::Overlap);
        }
        // The documented leaf rule: a 2 MiB block where both addresses are
        // 2 MiB aligned and 2 MiB remain, except in the 2 MiB shared range.
        let (mut at, mut pa) = (va, seg.pa + so);
        while at < end {
            let block = space != 2 && (at | pa) % MIB2 == 0 && end - at >= MIB2;
            let n = if block { MIB2 } else { PAGE };
            for i in (0..n).step_by(PAGE as usize) {
                self.pages[space].insert(at + i, (pa + i, r, block.then_some(at)));
            }
            at += n;
            pa += n;
        }
        Ok(())
    }

    /// The pages an unmap removes (with the block each was part of), or
    /// its error.
    fn unmap(
        &mut self,
        space: usize,
        off: u64,
        len: u64,
    ) -> Result<Vec<(u64, Option<u64>)>, Error> {
        if off + len > Model::size(space) {
            return Err(Error::OutOfRange);
        }
        let va = Model::base(space) + off;
        let end = va + len;
        if space < 2 && self.links_meeting(space, va, end) {
            return Err(Error::InvalidArgument);
        }
        let inside: Vec<u64> = self.pages[space].range(va..end).map(|(&p, _)| p).collect();
        for p in &inside {
            if let Some(b) = self.pages[space][p].2 {
                if b < va || b + MIB2 > end {
                    return Err(Error::InvalidArgument);
                }
            }
        }
        Ok(inside
            .iter()
            .map(|p| (*p, self.pages[space].remove(p).unwrap().2))
            .collect())
    }

    fn link_offset(shared: usize, skew: u8) -> u64 {
        SHARED_BASE[shared]
            + match skew {
                0 => 0,
                1 => PAGE,
                _ => SHARED_SIZE[shared],
            }
    }

    fn link(&mut self, root: usize, shared: usize, skew: u8, r: Rights) -> Result<(), Error> {
        if !RWX.contains(r) || !r.contains(Rights::READ) {
            return Err(Error::InvalidArgument);
        }
        match skew {
            0 => {}
            1 => return Err(Error::SharedRangeNotAligned),
            _ => return Err(Error::InvalidArgument),
        }
        let (va, end) = (
            SHARED_BASE[shared],
            SHARED_BASE[shared] + SHARED_SIZE[shared],
        );
        let taken = self.pages[root].range(va..end).next().is_some();
        if taken || self.links_meeting(root, va, end) {
            return Err(Error::Overlap);
        }
        self.links[root][shared] = Some(r);
        Ok(())
    }

    fn unlink(&mut self, root: usize, shared: usize, skew: u8) -> Result<(), Error> {
        match skew {
            0 if self.links[root][shared].is_some() => {
                self.links[root][shared] = None;
                Ok(())
            }
            1 => Err(Error::SharedRangeNotAligned),
            _ => Err(Error::InvalidArgument),
        }
    }
}
