//! Address ranges over simulated table memory: exact descriptors, every
//! error, and random operation sequences against a reference model.

extern crate std;

use crate::pagetable::{TableMemory, TablePool, ENTRIES, PAGE_SIZE};
use std::vec::Vec;

mod descriptors;
mod errors;
mod model;
mod pieces;

/// Physical address of simulated table `n`: `BASE + n * 4 KiB`.
const BASE: u64 = 0x40_0000_0000;

/// Simulated table memory that catches misuse: a freed table must be all
/// zeroes, touching a freed table panics, and freed tables are handed out
/// again first (so a stale pointer to one would show).
struct SimPool {
    tables: Vec<[u64; ENTRIES]>,
    live: Vec<bool>,
    free: Vec<usize>,
    /// Most tables live at once; `alloc_table` fails beyond.
    limit: usize,
    allocated: u64,
    freed: u64,
}

impl SimPool {
    fn new() -> SimPool {
        SimPool::with_limit(usize::MAX)
    }

    fn with_limit(limit: usize) -> SimPool {
        SimPool {
            tables: Vec::new(),
            live: Vec::new(),
            free: Vec::new(),
            limit,
            allocated: 0,
            freed: 0,
        }
    }

    /// Tables allocated and not freed.
    fn live(&self) -> u64 {
        self.allocated - self.freed
    }

    fn slot(pa: u64) -> usize {
        assert_eq!(pa % PAGE_SIZE, 0);
        ((pa - BASE) / PAGE_SIZE) as usize
    }
}

impl TableMemory for SimPool {
    fn alloc_table(&mut self) -> Option<u64> {
        if self.live() as usize >= self.limit {
            return None;
        }
        let n = match self.free.pop() {
            Some(n) => {
                assert!(self.tables[n].iter().all(|&e| e == 0));
                n
            }
            None => {
                self.tables.push([0; ENTRIES]);
                self.live.push(false);
                self.tables.len() - 1
            }
        };
        self.live[n] = true;
        self.allocated += 1;
        Some(BASE + n as u64 * PAGE_SIZE)
    }

    fn table(&mut self, pa: u64) -> &mut [u64; ENTRIES] {
        let n = SimPool::slot(pa);
        assert!(self.live[n], "table {pa:#x} used after free");
        &mut self.tables[n]
    }
}

impl TablePool for SimPool {
    fn free_table(&mut self, pa: u64) {
        let n = SimPool::slot(pa);
        assert!(self.live[n], "table {pa:#x} freed twice");
        assert!(
            self.tables[n].iter().all(|&e| e == 0),
            "table {pa:#x} freed with entries in it"
        );
        self.live[n] = false;
        self.free.push(n);
        self.freed += 1;
    }
}

/// Physical address of the `n`th table a fresh pool hands out.
const fn table_pa(n: u64) -> u64 {
    BASE + n * PAGE_SIZE
}
