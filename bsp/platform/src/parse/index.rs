//! One walk over the tree that keeps every available node compatible with
//! something the interpretation looks for, and the root's children, so
//! that each question ("the first available timer", "every virtio-mmio
//! transport", "`/cpus`", "the `/memory` nodes") is asked of those few
//! nodes instead of by a walk over the whole blob (there were about fifteen
//! such walks: docs/measurements.md, Boot time).

use super::blob::Blob;
use super::node::{strings, Node, Nodes};

/// Most nodes kept (QEMU virt: 32 virtio-mmio transports and about 8
/// others). A tree with more wanted nodes is still read right: the index
/// then answers by walking the blob, as before it existed.
const CAPACITY: usize = 48;
/// Most children of the root kept (QEMU virt: 49; past this, the root's
/// children are walked as before).
const TOP_CAPACITY: usize = 64;

/// The available nodes compatible with any of a set of lists, in blob order.
pub(super) struct Index<'a> {
    blob: Blob<'a>,
    nodes: heapless::Vec<Node<'a>, CAPACITY>,
    /// Every wanted node fitted.
    complete: bool,
    /// The root's children, in blob order.
    top: heapless::Vec<Node<'a>, TOP_CAPACITY>,
    /// Every child of the root fitted.
    top_complete: bool,
}

impl<'a> Index<'a> {
    /// Walks `blob` once, keeping the available nodes compatible with any
    /// string of any list in `wanted`. (The lists are filled where they
    /// stay: built apart and moved in, they were two `memcpy`s of 6 and 8
    /// KiB in the kernel.)
    pub fn new(blob: &Blob<'a>, wanted: &[&[&str]]) -> Self {
        let mut idx = Self {
            blob: *blob,
            nodes: heapless::Vec::new(),
            complete: true,
            top: heapless::Vec::new(),
            top_complete: true,
        };
        for node in blob.nodes() {
            if node.depth() == 1 && idx.top.push(node).is_err() {
                idx.top_complete = false;
            }
            let Some(compatible) = node.prop("compatible") else {
                continue;
            };
            let is_wanted = strings(compatible).any(|s| {
                wanted
                    .iter()
                    .flat_map(|w| w.iter())
                    .any(|w| w.as_bytes() == s)
            });
            if is_wanted && node.available() && idx.nodes.push(node).is_err() {
                (idx.complete, idx.top_complete) = (false, false);
                break;
            }
        }
        idx
    }

    /// The root's children, in blob order.
    pub fn top(&self) -> impl Iterator<Item = Node<'a>> + '_ {
        let (kept, walk) = if self.top_complete {
            (&self.top[..], None)
        } else {
            (&[][..], self.blob.root().map(|root| root.children()))
        };
        kept.iter().copied().chain(walk.into_iter().flatten())
    }

    /// The node at an absolute path such as `/soc/serial@7e201000` (see
    /// [`Node::named`] for how a component matches).
    pub fn by_path(&self, path: &str) -> Option<Node<'a>> {
        let mut rest = path.strip_prefix('/')?;
        let mut node: Option<Node<'a>> = None;
        loop {
            let (component, after) = rest.split_once('/').unwrap_or((rest, ""));
            if !component.is_empty() {
                node = Some(match node {
                    None => self.top().find(|c| c.named(component))?,
                    Some(parent) => parent.children().find(|c| c.named(component))?,
                });
            }
            if after.is_empty() {
                return node.or_else(|| self.blob.root());
            }
            rest = after;
        }
    }

    /// Every available node compatible with any of `with` (which must be
    /// one of the lists the index was built for), in blob order. (Out of
    /// line: a question asked a dozen times a boot, not in a loop.)
    #[inline(never)]
    pub fn compatible<'i>(&'i self, with: &'a [&'a str]) -> Compatible<'i, 'a> {
        Compatible {
            index: self,
            with,
            next: 0,
            walk: (!self.complete).then(|| self.blob.nodes()),
        }
    }
}

/// The answer of [`Index::compatible`]: one iterator type for both ways of
/// answering, so that each call site does not get its own adapter chain.
pub(super) struct Compatible<'i, 'a> {
    index: &'i Index<'a>,
    with: &'a [&'a str],
    /// The next kept node to look at.
    next: usize,
    /// The walk over the whole blob, when the index is incomplete.
    walk: Option<Nodes<'a>>,
}

impl<'a> Iterator for Compatible<'_, 'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        let with = self.with;
        if let Some(walk) = &mut self.walk {
            return walk.find(|n| n.compatible_with(with) && n.available());
        }
        while let Some(node) = self.index.nodes.get(self.next) {
            self.next = self.next.saturating_add(1);
            if node.compatible_with(with) {
                return Some(*node);
            }
        }
        None
    }
}
