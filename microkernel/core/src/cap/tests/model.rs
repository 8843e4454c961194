//! The reference model: the documented semantics written the obvious way,
//! with std collections. Nodes keep a parent and an ordered list of
//! children; revoke recurses; "last" is a count over every capability.

use super::*;
use crate::cap::{Error, Removed};
use std::collections::HashMap;
use std::vec::Vec;

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub cap: Cap,
    pub parent: Option<SlotRef>,
    pub children: Vec<SlotRef>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Model {
    /// Per share id: owner and capacity, if live.
    pub shares: Vec<Option<(Owner, u32)>>,
    pub nodes: HashMap<SlotRef, Node>,
}

impl Model {
    pub fn new(max_shares: usize) -> Model {
        Model {
            shares: std::vec![None; max_shares],
            nodes: HashMap::new(),
        }
    }

    pub fn create_share(&mut self, owner: Owner, capacity: u32) -> Result<ShareId, Error> {
        let free = self.shares.iter().position(Option::is_none);
        let at = free.ok_or(Error::OutOfMemory)?;
        self.shares[at] = Some((owner, capacity));
        Ok(ShareId(at as u32))
    }

    pub fn destroy_share(&mut self, core: u32, id: ShareId) -> Result<Vec<Removed>, Error> {
        let (owner, capacity) = self.share(core, id)?;
        let _ = owner;
        let mut out = Vec::new();
        for index in 0..capacity {
            let at = SlotRef::new(id, index);
            if self.nodes.contains_key(&at) {
                out.push(self.remove(at));
            }
        }
        self.shares[id.0 as usize] = None;
        Ok(out)
    }

    fn share(&self, core: u32, id: ShareId) -> Result<(Owner, u32), Error> {
        let (owner, capacity) = self
            .shares
            .get(id.0 as usize)
            .copied()
            .flatten()
            .ok_or(Error::InvalidCapability)?;
        match owner {
            Owner::Core(n) if n != core => Err(Error::NotOwner),
            _ => Ok((owner, capacity)),
        }
    }

    fn slot(&self, core: u32, at: SlotRef) -> Result<Option<Cap>, Error> {
        let (_, capacity) = self.share(core, at.share)?;
        if at.index >= capacity {
            return Err(Error::InvalidCapability);
        }
        Ok(self.nodes.get(&at).map(|n| n.cap))
    }

    fn owner(&self, at: SlotRef) -> Owner {
        self.shares[at.share.0 as usize].unwrap().0
    }

    pub fn lookup(&self, core: u32, at: SlotRef) -> Result<Cap, Error> {
        self.slot(core, at)?.ok_or(Error::InvalidCapability)
    }

    pub fn lookup_kind(
        &self,
        core: u32,
        at: SlotRef,
        kind: ObjectKind,
        needed: Rights,
    ) -> Result<Cap, Error> {
        let cap = self.lookup(core, at)?;
        if cap.obj.kind != kind {
            return Err(Error::WrongObjectKind);
        }
        if !cap.rights.contains(needed) {
            return Err(Error::MissingRights);
        }
        Ok(cap)
    }

    pub fn insert_original(&mut self, core: u32, at: SlotRef, cap: Cap) -> Result<(), Error> {
        if self.slot(core, at)?.is_some() {
            return Err(Error::SlotOccupied);
        }
        let node = Node {
            cap,
            parent: None,
            children: Vec::new(),
        };
        self.nodes.insert(at, node);
        Ok(())
    }

    fn check_transfer(&self, core: u32, src: SlotRef, dst: SlotRef) -> Result<Cap, Error> {
        let cap = self.lookup(core, src)?;
        if self.slot(core, dst)?.is_some() {
            return Err(Error::SlotOccupied);
        }
        if src.share != dst.share && !cap.rights.contains(Rights::GRANT) {
            return Err(Error::MissingRights);
        }
        Ok(cap)
    }

    pub fn copy(
        &mut self,
        core: u32,
        src: SlotRef,
        dst: SlotRef,
        mask: Rights,
    ) -> Result<Cap, Error> {
        let mut cap = self.check_transfer(core, src, dst)?;
        cap.rights = cap.rights.intersect(mask);
        let node = Node {
            cap,
            parent: Some(src),
            children: Vec::new(),
        };
        self.nodes.insert(dst, node);
        self.nodes.get_mut(&src).unwrap().children.push(dst);
        Ok(cap)
    }

    pub fn move_cap(&mut self, core: u32, src: SlotRef, dst: SlotRef) -> Result<(), Error> {
        self.check_transfer(core, src, dst)?;
        let node = self.nodes.remove(&src).unwrap();
        if let Some(p) = node.parent {
            for c in &mut self.nodes.get_mut(&p).unwrap().children {
                if *c == src {
                    *c = dst;
                }
            }
        }
        for c in &node.children {
            self.nodes.get_mut(c).unwrap().parent = Some(dst);
        }
        self.nodes.insert(dst, node);
        Ok(())
    }

    pub fn delete(&mut self, core: u32, at: SlotRef) -> Result<Removed, Error> {
        self.lookup(core, at)?;
        Ok(self.remove(at))
    }

    fn remove(&mut self, at: SlotRef) -> Removed {
        let node = self.nodes.remove(&at).unwrap();
        for c in &node.children {
            self.nodes.get_mut(c).unwrap().parent = node.parent;
        }
        if let Some(p) = node.parent {
            let siblings = &mut self.nodes.get_mut(&p).unwrap().children;
            let i = siblings.iter().position(|&c| c == at).unwrap();
            siblings.splice(i..=i, node.children.iter().copied());
        }
        let last = !self.nodes.values().any(|n| n.cap.obj == node.cap.obj);
        Removed {
            slot: at,
            cap: node.cap,
            owner: self.owner(at),
            last,
        }
    }

    pub fn revoke(&mut self, core: u32, at: SlotRef) -> Result<Vec<Removed>, Error> {
        self.lookup(core, at)?;
        let mut out = Vec::new();
        let children = core::mem::take(&mut self.nodes.get_mut(&at).unwrap().children);
        for c in children {
            self.revoke_all(c, &mut out);
        }
        Ok(out)
    }

    /// Removes `at` and everything under it, children first.
    fn revoke_all(&mut self, at: SlotRef, out: &mut Vec<Removed>) {
        let node = self.nodes.remove(&at).unwrap();
        for c in node.children {
            self.revoke_all(c, out);
        }
        let last = !self.nodes.values().any(|n| n.cap.obj == node.cap.obj);
        out.push(Removed {
            slot: at,
            cap: node.cap,
            owner: self.owner(at),
            last,
        });
    }
}
