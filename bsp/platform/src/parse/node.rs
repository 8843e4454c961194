//! Nodes and properties of a checked blob: depth-first walks, the
//! lookups the interpretation needs (by phandle, by name), and reading
//! property values. (Paths and `compatible` are looked up through the
//! index, `index.rs`.)

use super::blob::{be32, Blob, Prop, Token, MAX_DEPTH};

impl<'a> Blob<'a> {
    /// The root node.
    pub fn root(&self) -> Option<Node<'a>> {
        self.nodes().next()
    }

    /// Every node, depth first, in blob order. (Out of line: the walk
    /// costs far more than the call.)
    #[inline(never)]
    pub fn nodes(&self) -> Nodes<'a> {
        Nodes {
            blob: *self,
            at: 0,
            stack: [0; MAX_DEPTH],
            depth: 0,
            floor: 0,
            only: None,
        }
    }

    /// The node with a `phandle` (or legacy `linux,phandle`) of `phandle`.
    pub fn by_phandle(&self, phandle: u32) -> Option<Node<'a>> {
        if phandle == 0 || phandle == u32::MAX {
            return None;
        }
        self.nodes().find(|n| {
            n.props().any(|p| {
                (self.name_is(p.name_offset, "phandle")
                    || self.name_is(p.name_offset, "linux,phandle"))
                    && u32_value(p.value) == Some(phandle)
            })
        })
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
    body: u32,
    /// How many entries of `ancestors` are used (0 for the root).
    depth: u32,
    /// `FDT_BEGIN_NODE` offsets of the ancestors, root first.
    ancestors: [u32; MAX_DEPTH],
}

impl<'a> Node<'a> {
    /// The node whose `FDT_BEGIN_NODE` is at `begin`.
    fn at(blob: Blob<'a>, begin: u32, ancestors: [u32; MAX_DEPTH], depth: usize) -> Option<Self> {
        let (token, body) = blob.token(begin as usize)?;
        if !matches!(token, Token::BeginNode) {
            return None;
        }
        Some(Self {
            blob,
            begin,
            body: u32::try_from(body).ok()?,
            depth: u32::try_from(depth).ok()?,
            ancestors,
        })
    }

    /// `name@unit-address` as bytes, up to (not including) its NUL; empty
    /// for the root.
    fn name(&self) -> &'a [u8] {
        let at = (self.begin as usize).saturating_add(4);
        let rest = self.blob.structs.get(at..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == 0).unwrap_or(0);
        rest.get(..len).unwrap_or_default()
    }

    /// How many ancestors the node has (the root's children: 1).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Whether the node is named `component` (a path component): the whole
    /// name, or the name before `@` when `component` has no unit address.
    pub fn named(&self, component: &str) -> bool {
        let (name, c) = (self.name(), component.as_bytes());
        name.starts_with(c)
            && match name.get(c.len()) {
                None => true,
                Some(&b'@') => !c.contains(&b'@'),
                Some(_) => false,
            }
    }

    /// Whether `self` and `other` are the same node.
    pub fn is(&self, other: &Node<'_>) -> bool {
        self.begin == other.begin
    }

    /// The containing node; `None` for the root.
    pub fn parent(&self) -> Option<Node<'a>> {
        let depth = (self.depth as usize).checked_sub(1)?;
        let begin = *self.ancestors.get(depth)?;
        Node::at(self.blob, begin, self.ancestors, depth)
    }

    /// The properties, in blob order.
    fn props(&self) -> impl Iterator<Item = Prop<'a>> + 'a {
        let blob = self.blob;
        let mut at = Some(self.body as usize);
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
        let blob = self.blob;
        self.props()
            .find(|p| blob.name_is(p.name_offset, name))
            .map(|p| p.value)
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

    /// The direct children, in blob order. (Out of line: the walk costs
    /// far more than the call.)
    #[inline(never)]
    pub fn children(&self) -> Nodes<'a> {
        let mut stack = self.ancestors;
        let depth = match stack.get_mut(self.depth as usize) {
            Some(slot) => {
                *slot = self.begin;
                (self.depth as usize).saturating_add(1)
            }
            // Unreachable after `check_grammar`; yields nothing.
            None => 0,
        };
        Nodes {
            blob: self.blob,
            at: if depth == 0 {
                usize::MAX
            } else {
                self.body as usize
            },
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
                    // A node only the walk passes through is not built.
                    let depth = self.depth;
                    let begin = u32::try_from(here).ok()?;
                    let node = Node {
                        blob: self.blob,
                        begin,
                        body: u32::try_from(next).ok()?,
                        depth: u32::try_from(depth).ok()?,
                        ancestors: self.stack,
                    };
                    *self.stack.get_mut(depth)? = begin;
                    self.depth = depth.checked_add(1)?;
                    if self.only.is_none_or(|d| d == depth) {
                        return Some(node);
                    }
                }
                Token::EndNode if self.depth > self.floor => {
                    self.depth = self.depth.saturating_sub(1)
                }
                Token::EndNode | Token::End => {
                    self.at = usize::MAX;
                    return None;
                }
                Token::Prop(_) | Token::Nop => {}
            }
        }
    }
}
