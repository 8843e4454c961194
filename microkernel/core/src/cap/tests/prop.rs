//! Random operation sequences over four shares (private to core 0, private
//! to core 1, two shared) run against the reference model: every result,
//! every report of delete, revoke and destroy, and afterwards every slot's
//! capability, parent and children must match, and the invariants hold.

use super::model::Model;
use super::*;
use crate::cap::{Error, Removed, Revoking};
use proptest::prelude::*;
use std::vec::Vec;

const SHARES: usize = 4;
const CAPACITY: u32 = 6;
const OWNERS: [Owner; SHARES] = [Owner::Core(0), Owner::Core(1), Owner::Shared, Owner::Shared];

/// Who acts: mostly the owner of the private share among the slots named
/// (core 2, which owns none, if they are all shared), so that most
/// operations get past the ownership check; sometimes any of cores 0-2.
#[derive(Debug, Clone, Copy)]
enum Who {
    Owner,
    Core(u32),
}

/// A slot, chosen when the operation runs so that most operations find
/// what they need: the n-th full slot, the n-th one with children, the
/// n-th empty one, the n-th empty one in the source's share (modulo how many
/// there are), the slot the last insert, copy or move filled (which grows
/// deep trees), or any slot at all (which may not exist).
#[derive(Debug, Clone, Copy)]
enum Pick {
    Full(usize),
    Inner(usize),
    Empty(usize),
    EmptyBeside(usize),
    Last,
    Any(SlotRef),
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Who, Pick, ObjectKind, Rights, u8),
    Lookup(Who, Pick),
    LookupKind(Who, Pick, ObjectKind, Rights),
    Copy(Who, Pick, Pick, Rights),
    Move(Who, Pick, Pick),
    Delete(Who, Pick),
    /// Revoke, in pieces of this many removals (0: whole, `revoke`).
    Revoke(Who, Pick, u8),
    /// Destroy the share and make it again in the memory handed back.
    Recreate(Who, ShareId),
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![4 => Just(Who::Owner), 1 => (0u32..3).prop_map(Who::Core)]
}

/// Mostly real slots; sometimes a missing share or an index past the end.
fn slot() -> impl Strategy<Value = SlotRef> {
    let share = prop_oneof![12 => 0..SHARES as u32, 1 => Just(SHARES as u32)];
    let index = prop_oneof![12 => 0..CAPACITY, 1 => Just(CAPACITY)];
    (share, index).prop_map(|(s, i)| SlotRef::new(ShareId(s), i))
}

/// Mostly a full slot (a source).
fn full() -> impl Strategy<Value = Pick> {
    prop_oneof![
        5 => any::<usize>().prop_map(Pick::Full),
        3 => Just(Pick::Last),
        1 => any::<usize>().prop_map(Pick::Empty),
        1 => slot().prop_map(Pick::Any),
    ]
}

/// Mostly a slot with children (to revoke).
fn inner() -> impl Strategy<Value = Pick> {
    prop_oneof![
        5 => any::<usize>().prop_map(Pick::Inner),
        3 => any::<usize>().prop_map(Pick::Full),
        1 => any::<usize>().prop_map(Pick::Empty),
        1 => slot().prop_map(Pick::Any),
    ]
}

/// Mostly an empty slot (a destination).
fn empty() -> impl Strategy<Value = Pick> {
    prop_oneof![
        4 => any::<usize>().prop_map(Pick::Empty),
        4 => any::<usize>().prop_map(Pick::EmptyBeside),
        1 => any::<usize>().prop_map(Pick::Full),
        1 => slot().prop_map(Pick::Any),
    ]
}

fn kind() -> impl Strategy<Value = ObjectKind> {
    proptest::sample::select(
        &[
            ObjectKind::Segment,
            ObjectKind::AddressRange,
            ObjectKind::Share,
            ObjectKind::Task,
            ObjectKind::Notification,
        ][..],
    )
}

/// Any rights; half the time with GRANT, so copies leave their share.
fn rights() -> impl Strategy<Value = Rights> {
    (0u64..16, any::<bool>()).prop_map(|(b, g)| {
        let r = Rights::from_bits(b).unwrap();
        if g {
            r.union(Rights::GRANT)
        } else {
            r
        }
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (who(), empty(), kind(), rights(), any::<u8>()).prop_map(|(w, a, k, r, x)| Op::Insert(w, a, k, r, x)),
        1 => (who(), full()).prop_map(|(w, a)| Op::Lookup(w, a)),
        1 => (who(), full(), kind(), rights()).prop_map(|(w, a, k, r)| Op::LookupKind(w, a, k, r)),
        10 => (who(), full(), empty(), rights()).prop_map(|(w, a, b, r)| Op::Copy(w, a, b, r)),
        3 => (who(), full(), empty()).prop_map(|(w, a, b)| Op::Move(w, a, b)),
        2 => (who(), full()).prop_map(|(w, a)| Op::Delete(w, a)),
        3 => (who(), inner(), 0u8..4).prop_map(|(w, a, k)| Op::Revoke(w, a, k)),
        1 => (who(), (0..SHARES as u32 + 1).prop_map(ShareId)).prop_map(|(w, s)| Op::Recreate(w, s)),
    ]
}

fn core_for(who: Who, slots: &[SlotRef]) -> u32 {
    let private = slots
        .iter()
        .find_map(|a| match OWNERS.get(a.share.0 as usize) {
            Some(Owner::Core(n)) => Some(*n),
            _ => None,
        });
    match who {
        Who::Core(n) => n,
        Who::Owner => private.unwrap_or(2),
    }
}

/// The slot `pick` names now; `beside` is the source of a copy or move.
fn resolve(model: &Model, last: SlotRef, pick: Pick, beside: Option<SlotRef>) -> SlotRef {
    let every =
        (0..SHARES as u32).flat_map(|s| (0..CAPACITY).map(move |i| SlotRef::new(ShareId(s), i)));
    let choose = |want: &dyn Fn(&SlotRef) -> bool, n: usize| {
        let set: Vec<_> = every.clone().filter(want).collect();
        set.get(n % set.len().max(1)).copied().unwrap_or(last)
    };
    let full = |a: &SlotRef| model.nodes.contains_key(a);
    let inner = |a: &SlotRef| model.nodes.get(a).is_some_and(|n| !n.children.is_empty());
    let beside = |a: &SlotRef| !full(a) && beside.is_none_or(|b| a.share == b.share);
    match pick {
        Pick::Full(n) => choose(&full, n),
        Pick::Inner(n) => choose(&inner, n),
        Pick::Empty(n) => choose(&|a| !full(a), n),
        Pick::EmptyBeside(n) => choose(&beside, n),
        Pick::Last => last,
        Pick::Any(at) => at,
    }
}

/// Every slot of every share holds what the model says, with the same
/// parent and the same children in the same order.
fn same_state(space: &CapSpace<'_, SHARES>, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(space.check_invariants(), Ok(()));
    for (id, owner) in OWNERS.iter().enumerate() {
        let id = ShareId(id as u32);
        prop_assert_eq!(space.owner(id), Ok(*owner));
        let core = core_for(Who::Owner, &[SlotRef::new(id, 0)]);
        for index in 0..CAPACITY {
            let at = SlotRef::new(id, index);
            let want = model.nodes.get(&at);
            prop_assert_eq!(space.lookup(core, at).ok(), want.map(|n| n.cap));
            prop_assert_eq!(space.parent(at), want.and_then(|n| n.parent));
            let kids: Vec<_> = space.children(at).collect();
            let want_kids = want.map(|n| n.children.clone()).unwrap_or_default();
            prop_assert_eq!(kids, want_kids);
        }
    }
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut memory = [[Slot::EMPTY; CAPACITY as usize]; SHARES];
    let mut space = CapSpace::<'_, SHARES>::new();
    let mut model = Model::new(SHARES);
    for (owner, mem) in OWNERS.iter().zip(memory.iter_mut()) {
        let id = space.create_share(*owner, mem);
        prop_assert_eq!(id, model.create_share(*owner, CAPACITY));
    }
    let mut next_id = 0;
    let mut last = SlotRef::new(ShareId(0), 0);
    for op in ops {
        match *op {
            Op::Insert(w, at, kind, rights, extra) => {
                let at = resolve(&model, last, at, None);
                // Always a new object: the precondition of insert_original.
                next_id += 1;
                let obj = ObjRef { kind, id: next_id };
                let cap = Cap {
                    obj,
                    rights,
                    extra: extra.into(),
                };
                let core = core_for(w, &[at]);
                let got = space.insert_original(core, at, cap);
                prop_assert_eq!(got, model.insert_original(core, at, cap));
                if got.is_ok() {
                    last = at;
                }
            }
            Op::Lookup(w, at) => {
                let at = resolve(&model, last, at, None);
                let core = core_for(w, &[at]);
                prop_assert_eq!(space.lookup(core, at), model.lookup(core, at));
            }
            Op::LookupKind(w, at, kind, needed) => {
                let at = resolve(&model, last, at, None);
                let core = core_for(w, &[at]);
                let got = space.lookup_kind(core, at, kind, needed);
                prop_assert_eq!(got, model.lookup_kind(core, at, kind, needed));
            }
            Op::Copy(w, src, dst, mask) => {
                let src = resolve(&model, last, src, None);
                let dst = resolve(&model, last, dst, Some(src));
                let core = core_for(w, &[src, dst]);
                let got = space.copy(core, src, dst, mask);
                prop_assert_eq!(got, model.copy(core, src, dst, mask));
                if got.is_ok() {
                    last = dst;
                }
            }
            Op::Move(w, src, dst) => {
                let src = resolve(&model, last, src, None);
                let dst = resolve(&model, last, dst, Some(src));
                let core = core_for(w, &[src, dst]);
                let got = space.move_cap(core, src, dst);
                prop_assert_eq!(got, model.move_cap(core, src, dst));
                if got.is_ok() {
                    last = dst;
                }
            }
            Op::Delete(w, at) => {
                let at = resolve(&model, last, at, None);
                let core = core_for(w, &[at]);
                prop_assert_eq!(space.delete(core, at), model.delete(core, at));
            }
            Op::Revoke(w, at, piece) => {
                let at = resolve(&model, last, at, None);
                let core = core_for(w, &[at]);
                let mut seen = Vec::new();
                let got = if piece == 0 {
                    space.revoke(core, at, |r| seen.push(r))
                } else {
                    revoke_in_pieces(&mut space, core, at, piece.into(), &mut seen)
                };
                let want = model.revoke(core, at);
                prop_assert_eq!(got, want.as_ref().map(|v| v.len() as u32).map_err(|e| *e));
                prop_assert_eq!(seen, want.unwrap_or_default());
            }
            Op::Recreate(w, id) => {
                let core = core_for(w, &[SlotRef::new(id, 0)]);
                let mut seen = Vec::new();
                let got = space.destroy_share(core, id, |r| seen.push(r));
                let want = model.destroy_share(core, id);
                prop_assert_eq!(got.as_ref().err(), want.as_ref().err());
                prop_assert_eq!(&seen, &want.clone().unwrap_or_default());
                if let Ok(memory) = got {
                    prop_assert!(memory.iter().all(|s| s.cap().is_none()));
                    let owner = OWNERS[id.0 as usize];
                    let again = space.create_share(owner, memory);
                    prop_assert_eq!(again, Ok(id));
                    prop_assert_eq!(model.create_share(owner, CAPACITY), Ok(id));
                }
            }
        }
        same_state(&space, &model)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_operations_match_the_model(ops in proptest::collection::vec(op(), 10..=60)) {
        run(&ops)?;
    }
}

/// The ownership rule alone, exhaustively: who may touch which share.
#[test]
fn ownership_is_exact() {
    let mut memory = [[Slot::EMPTY; 2]; SHARES];
    let mut space = CapSpace::<'_, SHARES>::new();
    for (owner, mem) in OWNERS.iter().zip(memory.iter_mut()) {
        space.create_share(*owner, mem).unwrap();
    }
    for (share, owner) in OWNERS.iter().enumerate() {
        for core in 0..3 {
            let at = SlotRef::new(ShareId(share as u32), 0);
            let want = if owner.admits(core) {
                Err(Error::InvalidCapability)
            } else {
                Err(Error::NotOwner)
            };
            assert_eq!(space.lookup(core, at), want);
        }
    }
}

/// `revoke_until` of `at` again and again, each call stopped after
/// `piece` removals, until one removes nothing: the joined reports and
/// the total must be one whole revoke's (the tree is the progress kept).
fn revoke_in_pieces(
    space: &mut CapSpace<'_, SHARES>,
    core: u32,
    at: SlotRef,
    piece: u32,
    seen: &mut Vec<Removed>,
) -> Result<u32, Error> {
    let (mut total, mut held, mut stopped) = (0, None, None);
    loop {
        let mut n = 0;
        // A piece also stops before a removal, once per descendant (the
        // next piece must find the same one first).
        let mut nexts = 0;
        let got = space.revoke_until(core, at, |step| match step {
            Revoking::Next(s) => {
                nexts += 1;
                // The first of a piece after one stopped here is the same.
                assert!(nexts > 1 || stopped.is_none_or(|at| at == s));
                let fresh = held != Some(s);
                held = Some(s);
                fresh && nexts == piece
            }
            Revoking::Removed(r) => {
                assert_eq!(held, Some(r.slot));
                seen.push(r);
                n += 1;
                n == piece
            }
        })?;
        assert_eq!(got, n);
        assert!(space.check_invariants().is_ok());
        stopped = (n < piece && nexts > 0).then_some(held).flatten();
        total += got;
        if got == 0 && nexts == 0 {
            return Ok(total);
        }
    }
}
