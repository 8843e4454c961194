//! The flattened device tree format itself: the header, one strict grammar
//! check of the structure block, and walks over nodes and properties that
//! never index a slice unchecked.
//!
//! This is written here rather than taken from the `fdt` crate because
//! fdt 0.1.5 panics (`assert!`, `unwrap`, slice indexing) on malformed blobs,
//! and also on well-formed ones that hold `FDT_NOP` tokens where a node was
//! deleted. QEMU's `raspi4b` produces exactly that: it removes PCIe, GENET,
//! RNG, thermal and the original `/memory` with `fdt_nop_node` before
//! handing the Raspberry Pi DTB to the kernel. Here a NOP is accepted
//! anywhere the specification allows one.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

use crate::Error;

pub(super) const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Header length of version 17, the first to carry `size_dt_struct`.
pub(super) const HEADER_LEN: usize = 40;
/// Oldest format version read: 17 (dtc and libfdt have written it since 2007).
const VERSION: u32 = 17;
/// Deepest node nesting accepted (the Raspberry Pi 4 tree is 5 deep).
pub(super) const MAX_DEPTH: usize = 16;

/// Reads a big-endian `u32` at `at`, if it is all inside `bytes`.
pub(super) fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(<[u8; 4]>::try_from(b).ok()?))
}

/// Reads a big-endian `u64` at `at`, if it is all inside `bytes`.
fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    Some(u64::from_be_bytes(<[u8; 8]>::try_from(b).ok()?))
}

/// Rounds up to the next multiple of 4 (every token starts 4-aligned).
fn align4(x: usize) -> Option<usize> {
    Some(x.checked_add(3)? & !3)
}

/// The NUL-terminated UTF-8 string starting at `at`.
fn cstr(bytes: &[u8], at: usize) -> Option<&str> {
    let rest = bytes.get(at..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    core::str::from_utf8(rest.get(..len)?).ok()
}

/// `bytes[offset..offset + len]`, if it exists.
fn block(bytes: &[u8], offset: u32, len: u32) -> Result<&[u8], Error> {
    let start = offset as usize;
    let end = start.checked_add(len as usize).ok_or(Error::BadDtb)?;
    bytes.get(start..end).ok_or(Error::BadDtb)
}

/// One token of the structure block.
#[derive(Clone, Copy)]
enum Token<'a> {
    BeginNode,
    EndNode,
    Prop(Prop<'a>),
    Nop,
    End,
}

/// A property: its name (from the strings block) and raw value.
#[derive(Clone, Copy)]
pub(super) struct Prop<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
}

/// A blob whose header and structure-block grammar have been checked.
#[derive(Clone, Copy)]
pub(super) struct Blob<'a> {
    structs: &'a [u8],
    strings: &'a [u8],
    /// The memory reservation entries, without the terminating zero entry.
    rsvmap: &'a [u8],
}

impl<'a> Blob<'a> {
    /// Checks the header and the whole structure block; afterwards every walk
    /// sees a well-nested tree of well-formed tokens.
    pub fn new(data: &'a [u8]) -> Result<Self, Error> {
        let field = |i: usize| i.checked_mul(4).and_then(|at| be32(data, at)).ok_or(Error::BadDtb);
        let magic = field(0)?;
        let total = field(1)? as usize;
        let (off_struct, off_strings, off_rsvmap) = (field(2)?, field(3)?, field(4)?);
        let (version, last_compatible) = (field(5)?, field(6)?);
        let (size_strings, size_struct) = (field(8)?, field(9)?);
        if magic != FDT_MAGIC || version < VERSION || last_compatible > VERSION {
            return Err(Error::BadDtb);
        }
        if total < HEADER_LEN {
            return Err(Error::BadDtb);
        }
        let data = data.get(..total).ok_or(Error::BadDtb)?;
        let blob = Self {
            structs: block(data, off_struct, size_struct)?,
            strings: block(data, off_strings, size_strings)?,
            rsvmap: reservation_block(data, off_rsvmap as usize)?,
        };
        blob.check_grammar()?;
        Ok(blob)
    }

    /// The `/memreserve/` entries as `(address, size)`.
    pub fn reservations(&self) -> impl Iterator<Item = (u64, u64)> + 'a {
        self.rsvmap
            .chunks_exact(16)
            .filter_map(|entry| Some((be64(entry, 0)?, be64(entry, 8)?)))
    }

    /// Decodes the token at `at` and says where the next one starts.
    fn token(&self, at: usize) -> Option<(Token<'a>, usize)> {
        let after_tag = at.checked_add(4)?;
        match be32(self.structs, at)? {
            FDT_BEGIN_NODE => {
                let name = cstr(self.structs, after_tag)?;
                let next = align4(after_tag.checked_add(name.len())?.checked_add(1)?)?;
                Some((Token::BeginNode, next))
            }
            FDT_PROP => {
                let len = be32(self.structs, after_tag)? as usize;
                let name_offset = be32(self.structs, after_tag.checked_add(4)?)? as usize;
                let start = after_tag.checked_add(8)?;
                let end = start.checked_add(len)?;
                let value = self.structs.get(start..end)?;
                let name = cstr(self.strings, name_offset)?;
                Some((Token::Prop(Prop { name, value }), align4(end)?))
            }
            FDT_END_NODE => Some((Token::EndNode, after_tag)),
            FDT_NOP => Some((Token::Nop, after_tag)),
            FDT_END => Some((Token::End, after_tag)),
            _ => None,
        }
    }

    /// One root node; inside every node, properties before children; nesting
    /// no deeper than [`MAX_DEPTH`]; `FDT_END` after the root closes.
    fn check_grammar(&self) -> Result<(), Error> {
        let mut at = 0;
        let mut depth = 0usize;
        let mut seen_root = false;
        // Bit `d` set: the open node at depth `d` already has a child, so a
        // property there would be out of order.
        let mut has_child = 0u32;
        loop {
            let (token, next) = self.token(at).ok_or(Error::BadDtb)?;
            match token {
                Token::BeginNode => {
                    if depth == 0 && seen_root {
                        return Err(Error::BadDtb);
                    }
                    seen_root = true;
                    has_child |= 1u32.checked_shl(depth as u32).ok_or(Error::BadDtb)?;
                    depth = depth.checked_add(1).ok_or(Error::BadDtb)?;
                    if depth > MAX_DEPTH {
                        return Err(Error::BadDtb);
                    }
                    has_child &= !(1u32.checked_shl(depth as u32).ok_or(Error::BadDtb)?);
                }
                Token::Prop(_) => {
                    let bit = 1u32.checked_shl(depth as u32).ok_or(Error::BadDtb)?;
                    if depth == 0 || has_child & bit != 0 {
                        return Err(Error::BadDtb);
                    }
                }
                Token::EndNode => depth = depth.checked_sub(1).ok_or(Error::BadDtb)?,
                Token::Nop => {}
                Token::End if depth == 0 && seen_root => return Ok(()),
                Token::End => return Err(Error::BadDtb),
            }
            at = next;
        }
    }

    /// The root node.
    pub fn root(&self) -> Option<Node<'a>> {
        self.nodes().next()
    }

    /// Every node, depth first, in blob order.
    pub fn nodes(&self) -> Nodes<'a> {
        Nodes { blob: *self, at: 0, stack: [0; MAX_DEPTH], depth: 0, floor: 0, only: None }
    }

    /// The node with a `phandle` (or legacy `linux,phandle`) of `phandle`.
    pub fn by_phandle(&self, phandle: u32) -> Option<Node<'a>> {
        if phandle == 0 || phandle == u32::MAX {
            return None;
        }
        self.nodes().find(|n| {
            let own = n.prop("phandle").or_else(|| n.prop("linux,phandle"));
            own.and_then(u32_value) == Some(phandle)
        })
    }

    /// The node at an absolute path such as `/soc/serial@7e201000`. A path
    /// component without a unit address also matches `name@unit`.
    pub fn by_path(&self, path: &str) -> Option<Node<'a>> {
        let rest = path.strip_prefix('/')?;
        let mut node = self.root()?;
        for component in rest.split('/').filter(|c| !c.is_empty()) {
            node = node.children().find(|c| {
                c.name == component
                    || (!component.contains('@') && c.name.split('@').next() == Some(component))
            })?;
        }
        Some(node)
    }
}

/// The memory reservation block from `offset` up to (not including) its
/// terminating all-zero entry, which must lie inside `data`.
fn reservation_block(data: &[u8], offset: usize) -> Result<&[u8], Error> {
    let mut end = offset;
    loop {
        let address = be64(data, end).ok_or(Error::BadDtb)?;
        let size = be64(data, end.checked_add(8).ok_or(Error::BadDtb)?).ok_or(Error::BadDtb)?;
        if address == 0 && size == 0 {
            return data.get(offset..end).ok_or(Error::BadDtb);
        }
        end = end.checked_add(16).ok_or(Error::BadDtb)?;
    }
}

/// A `u32` property value (exactly one cell).
pub(super) fn u32_value(value: &[u8]) -> Option<u32> {
    if value.len() == 4 {
        be32(value, 0)
    } else {
        None
    }
}

/// The strings of a string-list property (`compatible`), as bytes.
pub(super) fn strings(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == 0).filter(|s| !s.is_empty())
}

/// The first string of a string property.
pub(super) fn first_str(value: &[u8]) -> Option<&str> {
    core::str::from_utf8(strings(value).next()?).ok()
}

/// One node. Cheap to copy: it records where it is, not what it holds.
#[derive(Clone, Copy)]
pub(super) struct Node<'a> {
    blob: Blob<'a>,
    /// Offset of this node's `FDT_BEGIN_NODE` token: its identity.
    begin: u32,
    /// Offset of the first token after the name (the first property).
    body: usize,
    /// `FDT_BEGIN_NODE` offsets of the ancestors, root first.
    ancestors: [u32; MAX_DEPTH],
    /// How many entries of `ancestors` are used (0 for the root).
    depth: usize,
    /// `name@unit-address`; empty for the root.
    pub name: &'a str,
}

impl<'a> Node<'a> {
    /// The node whose `FDT_BEGIN_NODE` is at `begin`.
    fn at(blob: Blob<'a>, begin: u32, ancestors: [u32; MAX_DEPTH], depth: usize) -> Option<Self> {
        let (token, body) = blob.token(begin as usize)?;
        if !matches!(token, Token::BeginNode) {
            return None;
        }
        let name = cstr(blob.structs, (begin as usize).checked_add(4)?)?;
        Some(Self { blob, begin, body, ancestors, depth, name })
    }

    /// Whether `self` and `other` are the same node.
    pub fn is(&self, other: &Node<'_>) -> bool {
        self.begin == other.begin
    }

    /// The containing node; `None` for the root.
    pub fn parent(&self) -> Option<Node<'a>> {
        let depth = self.depth.checked_sub(1)?;
        let begin = *self.ancestors.get(depth)?;
        Node::at(self.blob, begin, self.ancestors, depth)
    }

    /// The properties, in blob order.
    pub fn props(&self) -> impl Iterator<Item = Prop<'a>> + 'a {
        let blob = self.blob;
        let mut at = Some(self.body);
        core::iter::from_fn(move || loop {
            let (token, next) = blob.token(at?)?;
            at = Some(next);
            match token {
                Token::Nop => {}
                Token::Prop(prop) => return Some(prop),
                _ => {
                    at = None;
                    return None;
                }
            }
        })
    }

    /// The value of property `name`.
    pub fn prop(&self, name: &str) -> Option<&'a [u8]> {
        self.props().find(|p| p.name == name).map(|p| p.value)
    }

    /// Whether the `compatible` list holds any of `with`.
    pub fn compatible_with(&self, with: &[&str]) -> bool {
        self.prop("compatible")
            .is_some_and(|v| strings(v).any(|s| with.iter().any(|w| w.as_bytes() == s)))
    }

    /// Whether the node is in use: `status` absent, `"okay"` or `"ok"`, as
    /// Linux's `of_device_is_available` decides. `"disabled"`, `"reserved"`
    /// (owned by other software) and `"fail"` all mean: do not touch.
    pub fn available(&self) -> bool {
        match self.prop("status") {
            None => true,
            Some(v) => matches!(first_str(v), Some("okay" | "ok")),
        }
    }

    /// The direct children, in blob order.
    pub fn children(&self) -> Nodes<'a> {
        let mut stack = self.ancestors;
        let depth = match stack.get_mut(self.depth) {
            Some(slot) => {
                *slot = self.begin;
                self.depth.saturating_add(1)
            }
            // Unreachable after `check_grammar`; yields nothing.
            None => 0,
        };
        Nodes {
            blob: self.blob,
            at: if depth == 0 { usize::MAX } else { self.body },
            stack,
            depth,
            floor: depth,
            only: Some(depth),
        }
    }
}

/// A depth-first walk over nodes (all of them, or one node's children).
pub(super) struct Nodes<'a> {
    blob: Blob<'a>,
    at: usize,
    stack: [u32; MAX_DEPTH],
    /// Nodes currently open.
    depth: usize,
    /// Stop at the `FDT_END_NODE` that would close below this depth.
    floor: usize,
    /// Yield only nodes with this many ancestors.
    only: Option<usize>,
}

impl<'a> Iterator for Nodes<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        loop {
            let Some((token, next)) = self.blob.token(self.at) else {
                self.at = usize::MAX;
                return None;
            };
            let here = self.at;
            self.at = next;
            match token {
                Token::BeginNode => {
                    let node = Node::at(self.blob, u32::try_from(here).ok()?, self.stack, self.depth)?;
                    *self.stack.get_mut(self.depth)? = node.begin;
                    self.depth = self.depth.checked_add(1)?;
                    if self.only.is_none_or(|d| d == node.depth) {
                        return Some(node);
                    }
                }
                Token::EndNode if self.depth > self.floor => self.depth = self.depth.saturating_sub(1),
                Token::EndNode | Token::End => {
                    self.at = usize::MAX;
                    return None;
                }
                Token::Prop(_) | Token::Nop => {}
            }
        }
    }
}
