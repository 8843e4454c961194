//! The operation sequences: strategies, the system under test, the checks
//! after each operation, and the property itself.

use super::*;
use crate::range::{AddressRange, TlbInvalidation, TlbOp};
use proptest::prelude::*;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
enum Op {
    Map {
        space: usize,
        offset: u64,
        seg: usize,
        seg_offset: u64,
        len: u64,
        rights: Rights,
    },
    Unmap {
        space: usize,
        offset: u64,
        len: u64,
    },
    /// Unmap starting at a page the model has mapped (the `pick`th), or at
    /// the 2 MiB boundary below it: most such unmaps remove something.
    UnmapMapped {
        space: usize,
        pick: prop::sample::Index,
        to_block: bool,
        len: u64,
    },
    Link {
        root: usize,
        shared: usize,
        /// 0: the shared range's base; 1: one page off; 2: one size off.
        skew: u8,
        /// What the link lets through (now and then a refused set).
        rights: Rights,
    },
    Unlink {
        root: usize,
        shared: usize,
        skew: u8,
    },
}

/// An offset inside `space` near interesting boundaries.
fn offset(space: usize) -> impl Strategy<Value = u64> {
    let page = prop_oneof![3 => Just(0u64), 1 => Just(1), 1 => Just(511), 2 => 0u64..512];
    match space {
        0 | 1 => (0..ROOT_REGIONS.len(), 0u64..4, page)
            .prop_map(|(r, k, p)| ROOT_REGIONS[r] + k * MIB2 + p * PAGE)
            .boxed(),
        2 => page.prop_map(|p| p * PAGE).boxed(),
        _ => (0u64..4, page)
            .prop_map(|(k, p)| k * MIB2 + p * PAGE)
            .boxed(),
    }
}

fn pages() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => Just(1u64),
        1 => Just(2),
        1 => Just(5),
        1 => Just(511),
        2 => Just(512),
        1 => Just(513),
        2 => Just(1024)
    ]
    .prop_map(|n| n * PAGE)
}

fn op() -> impl Strategy<Value = Op> {
    let map = (0usize..4).prop_flat_map(|space| {
        (
            offset(space),
            0usize..3,
            prop_oneof![2 => Just(0u64), 1 => Just(1), 1 => Just(256), 2 => Just(512), 1 => 0u64..8192],
            pages(),
            prop_oneof![Just(R), Just(RW), Just(RX)],
        )
            .prop_map(move |(offset, seg, so, len, rights)| Op::Map {
                space,
                offset,
                seg,
                seg_offset: so * PAGE,
                len,
                rights,
            })
    });
    let unmap = (0usize..4).prop_flat_map(|space| {
        (offset(space), prop_oneof![pages(), Just(2 * MIB2)])
            .prop_map(move |(offset, len)| Op::Unmap { space, offset, len })
    });
    let unmap_mapped = (
        0usize..4,
        any::<prop::sample::Index>(),
        any::<bool>(),
        pages(),
    )
        .prop_map(|(space, pick, to_block, len)| Op::UnmapMapped {
            space,
            pick,
            to_block,
            len,
        });
    let skew = prop_oneof![6 => Just(0u8), 1 => Just(1), 1 => Just(2)];
    let link_rights = prop_oneof![
        3 => Just(R),
        3 => Just(RW),
        2 => Just(RX),
        3 => Just(RWX),
        1 => Just(Rights::WRITE),
        1 => Just(Rights::ALL),
    ];
    let link = (0usize..2, 0usize..2, skew.clone(), link_rights).prop_map(
        |(root, shared, skew, rights)| Op::Link {
            root,
            shared,
            skew,
            rights,
        },
    );
    let unlink = (0usize..2, 0usize..2, skew).prop_map(|(root, shared, skew)| Op::Unlink {
        root,
        shared,
        skew,
    });
    prop_oneof![5 => map, 1 => unmap, 2 => unmap_mapped, 2 => link, 1 => unlink]
}

/// A root and a shared range of `ranges`, both mutable.
fn pair(
    ranges: &mut [AddressRange],
    root: usize,
    shared: usize,
) -> (&mut AddressRange, &mut AddressRange) {
    let (roots, shareds) = ranges.split_at_mut(2);
    (&mut roots[root], &mut shareds[shared])
}

struct System {
    pool: SimPool,
    /// Roots 0, 1; shared 2 (2 MiB), 3 (1 GiB).
    ranges: Vec<AddressRange>,
}

impl System {
    fn new() -> System {
        let mut pool = SimPool::new();
        let mut ranges = Vec::new();
        for asid in [1, 2] {
            ranges.push(AddressRange::new_private(&mut pool, asid, 0, USER_TOP).unwrap());
        }
        for s in 0..2 {
            ranges
                .push(AddressRange::new_shared(&mut pool, SHARED_BASE[s], SHARED_SIZE[s]).unwrap());
        }
        System { pool, ranges }
    }

    fn check_tables(&mut self) {
        let owned: u32 = self.ranges.iter().map(|r| r.tables()).sum();
        let walked: u32 = self
            .ranges
            .iter()
            .map(|r| r.count_tables(&mut self.pool))
            .sum();
        assert_eq!(owned, walked, "table counts differ from the tables");
        assert_eq!(u64::from(owned), self.pool.live(), "tables leaked");
    }

    fn check_translations(&mut self, model: &Model, probes: &[u64]) {
        for space in 0..4 {
            for &va in probes {
                let got = self.ranges[space].translate(&mut self.pool, va);
                let inside =
                    va >= Model::base(space) && va - Model::base(space) < Model::size(space);
                let want = if inside {
                    model.lookup(space, va)
                } else {
                    None
                };
                assert_eq!(got, want, "space {space} va {va:#x}");
            }
        }
    }
}

/// Addresses to compare: around the operation's span, around every range
/// and region boundary, and a spread of what the model has mapped.
fn probes(model: &Model, span: Option<(u64, u64)>) -> Vec<u64> {
    let mut v = Vec::new();
    if let Some((va, end)) = span {
        let step = ((end - va) / 16).max(PAGE) & !(PAGE - 1);
        let mut at = va.saturating_sub(PAGE);
        while at <= end {
            v.push(at + 0x18);
            at += step;
        }
        v.extend([end - PAGE, end]);
    }
    for b in ROOT_REGIONS.iter().chain(&SHARED_BASE) {
        v.extend([
            b - PAGE,
            *b,
            b + PAGE,
            b + MIB2 - PAGE,
            b + MIB2,
            b + 3 * MIB2,
        ]);
    }
    for pages in &model.pages {
        let step = (pages.len() / 24).max(1);
        v.extend(pages.keys().step_by(step).map(|&p| p + 0x7f8));
    }
    v
}

fn run(ops: &[Op]) {
    let mut sys = System::new();
    let mut model = Model {
        pages: Default::default(),
        links: [[None; 2]; 2],
    };
    for op in ops {
        let op = &resolve(&model, op);
        let span = match *op {
            Op::Map {
                space,
                offset,
                seg,
                seg_offset,
                len,
                rights,
            } => {
                let want = model.map(space, offset, seg, seg_offset, len, rights);
                let got = sys.ranges[space].map_segment(
                    &mut sys.pool,
                    offset,
                    &SEGMENTS[seg],
                    seg_offset,
                    len,
                    rights,
                );
                assert_eq!(got, want, "{op:?}");
                Model::base(space)
                    .checked_add(offset)
                    .map(|va| (va, va + len))
            }
            Op::Unmap { space, offset, len } => {
                let want = model.unmap(space, offset, len);
                let got = sys.ranges[space].unmap(&mut sys.pool, offset, len);
                match (got, want) {
                    (Ok(inv), Ok(removed)) => check_invalidation(&model, space, &inv, &removed),
                    (got, want) => assert_eq!(got.map(|_| ()), want.map(|_| ()), "{op:?}"),
                }
                let va = Model::base(space) + offset;
                Some((va, va + len))
            }
            Op::UnmapMapped { .. } => unreachable!("resolved"),
            Op::Link {
                root,
                shared,
                skew,
                rights,
            } => {
                let want = model.link(root, shared, skew, rights);
                let off = Model::link_offset(shared, skew);
                let (r, s) = pair(&mut sys.ranges, root, shared);
                let got = r.map_range(&mut sys.pool, off, s, rights);
                assert_eq!(got, want, "{op:?}");
                Some((off, off + SHARED_SIZE[shared]))
            }
            Op::Unlink { root, shared, skew } => {
                let want = model.unlink(root, shared, skew);
                let off = Model::link_offset(shared, skew);
                let (r, s) = pair(&mut sys.ranges, root, shared);
                let got = r.unlink(&mut sys.pool, off, s);
                if let Ok(inv) = got {
                    // Every page of the shared range, under this root's ASID.
                    let (all, vpns) = dropped(&inv, Some(root as u16 + 1));
                    let end = off + SHARED_SIZE[shared];
                    assert!(
                        all || (off..end)
                            .step_by(PAGE as usize)
                            .all(|va| vpns.contains(&(va >> 12)))
                    );
                }
                assert_eq!(got.map(|_| ()), want, "{op:?}");
                Some((off, off + SHARED_SIZE[shared]))
            }
        };
        for s in 0..2 {
            let n = model.links.iter().filter(|l| l[s].is_some()).count() as u32;
            assert_eq!(sys.ranges[2 + s].links(), n);
        }
        sys.check_tables();
        let probes = probes(&model, span);
        sys.check_translations(&model, &probes);
    }
    tear_down(sys);
}

/// Turns an [`Op::UnmapMapped`] into the [`Op::Unmap`] it stands for.
fn resolve(model: &Model, op: &Op) -> Op {
    let &Op::UnmapMapped {
        space,
        ref pick,
        to_block,
        len,
    } = op
    else {
        return op.clone();
    };
    let pages = &model.pages[space];
    let va = match pages.len() {
        0 => Model::base(space),
        n => *pages.keys().nth(pick.index(n)).unwrap(),
    };
    let va = if to_block { va & !(MIB2 - 1) } else { va };
    let offset = va.max(Model::base(space)) - Model::base(space);
    Op::Unmap { space, offset, len }
}

/// What the TLBI ops of `inv` drop: everything (in the ASID), or the
/// pages (virtual page numbers) their addresses fall in. `asid`: the local
/// ASID every op must name; `None`: every op must be a broadcast one.
fn dropped(inv: &TlbInvalidation, asid: Option<u16>) -> (bool, BTreeSet<u64>) {
    let mut vpns = BTreeSet::new();
    let mut all = false;
    for op in inv.ops() {
        match (op, asid) {
            (TlbOp::Vae1(x), Some(a)) if x >> 48 == u64::from(a) => {
                vpns.insert(x & ((1 << 44) - 1));
            }
            (TlbOp::Aside1(x), Some(a)) if x == u64::from(a) << 48 => all = true,
            (TlbOp::Vaae1is(x), None) => {
                vpns.insert(x);
            }
            (TlbOp::Vmalle1is, None) => all = true,
            _ => panic!("{op:?} for ASID {asid:?}"),
        }
    }
    (all, vpns)
}

/// Every removed leaf (page or block) is hit by a TLBI, locally by ASID
/// for a root, broadcast for a linked shared range; nothing removed (or a
/// shared range nobody links) asks for nothing.
fn check_invalidation(
    model: &Model,
    space: usize,
    inv: &TlbInvalidation,
    removed: &[(u64, Option<u64>)],
) {
    let linked = space < 2 || model.links.iter().any(|l| l[space - 2].is_some());
    if removed.is_empty() || !linked {
        assert_eq!(*inv, TlbInvalidation::None);
        return;
    }
    assert_eq!(inv.is_broadcast(), space >= 2);
    let (all, vpns) = dropped(inv, (space < 2).then_some(space as u16 + 1));
    for &(va, block) in removed {
        let (lo, hi) = match block {
            Some(b) => (b >> 12, (b + MIB2) >> 12),
            None => (va >> 12, (va >> 12) + 1),
        };
        assert!(
            all || vpns.range(lo..hi).next().is_some(),
            "{va:#x} not invalidated"
        );
    }
}

/// Unlink everything, unmap everything: only the four ranges' own tables
/// remain; destroying them frees those.
fn tear_down(mut sys: System) {
    for root in 0..2 {
        for (shared, &base) in SHARED_BASE.iter().enumerate() {
            let (r, s) = pair(&mut sys.ranges, root, shared);
            let _ = r.unlink(&mut sys.pool, base, s);
        }
    }
    for space in 0..4 {
        let size = sys.ranges[space].size();
        sys.ranges[space].unmap(&mut sys.pool, 0, size).unwrap();
        assert_eq!(sys.ranges[space].tables(), 1);
    }
    sys.check_tables();
    assert_eq!(sys.pool.live(), 4);
    for r in sys.ranges.drain(..) {
        assert_eq!(r.destroy(&mut sys.pool), Ok(TlbInvalidation::None));
    }
    assert_eq!(sys.pool.live(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn operations_match_the_model(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops);
    }
}
