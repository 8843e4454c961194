//! Bindings: what the image gives a task by name, filled in when xtask
//! packs the image (as Hubris' `task_slot!` and Microkit's `setvar` do).
//!
//! A task never writes a capability slot or a ring address: it declares
//! what it needs with [`bind!`](crate::bind!),
//!
//! ```ignore
//! ulib::bind! {
//!     /// The console UART the image grants (`caps = [{ object = "device:uart", ... }]`).
//!     static UART: Slot = "uart";
//!     /// This task's connection to the console service (`uses = ["console"]`).
//!     static CONSOLE: Client = "console";
//! }
//! ```
//!
//! and reads the value at run time (`UART.get()`, `CONSOLE.get()`). Each
//! declaration is a static the linker keeps under the symbol
//! `__bind:KIND:NAME`; xtask finds the symbol in the task's ELF and writes
//! the value the image gives *this task* (each `[[task]]` entry gets its
//! own copy of the program) into it, or leaves it unbound (`None`). xtask
//! refuses an image that gives a connection the program does not declare,
//! or declares one with the wrong kind, so a mistake is one line at build
//! time, never a fault at run time. docs/images.md, Bindings, lists every
//! kind and where its value comes from.
//!
//! A binding declared in a library is in every task that links the
//! library (its symbol names it once per program, so a task cannot declare
//! the same one again): declare bindings in the task, or in a library
//! only the tasks that need them link, as `console-api` does.
//!
//! Every value starts with a word that is 1 when bound ([`UNBOUND_MAGIC`]
//! in the placeholder); the words after it
//! are the kind's, little-endian `u64`s. The layouts here and in
//! `xtask/src/binds.rs` are the same by construction (xtask checks each
//! symbol's size against its kind).

use crate::CPtr;

/// Most clients one service's server is given ([`Server`]).
pub const MAX_CLIENTS: usize = 8;

/// The first word of a placeholder ("UNBOUND\0"): non-zero, so a binding
/// lives in the file (`.rodata`), not in `.bss`, and xtask can check that
/// the symbol it patches is one.
pub const UNBOUND_MAGIC: u64 = u64::from_le_bytes(*b"UNBOUND\0");

/// A placeholder of `N` words.
const fn unbound<const N: usize>() -> [u64; N] {
    let mut w = [0; N];
    w[0] = UNBOUND_MAGIC;
    w
}

/// Reads a binding's words. `#[inline(never)]` and volatile: the compiler
/// must not fold the link-time placeholder into the code.
#[inline(never)]
fn read<const N: usize>(words: &'static [u64; N]) -> [u64; N] {
    let mut out = [0; N];
    for (o, w) in out.iter_mut().zip(words) {
        // Safety: `w` points into a live `'static` array of `u64`s; a
        // volatile read of an initialised, aligned word is sound.
        *o = unsafe { core::ptr::read_volatile(w) };
    }
    out
}

/// A capability the image grants (`caps = [...]` of the task's entry),
/// named by its `as` or its object's name (`"device:uart"` → `uart`).
#[repr(C)]
pub struct Slot([u64; 2]);

impl Slot {
    /// The placeholder xtask overwrites.
    pub const UNBOUND: Slot = Slot(unbound());

    /// The capability's root slot, if the image grants it.
    pub fn get(&'static self) -> Option<CPtr> {
        self.index().map(CPtr::root)
    }

    /// The root slot's index (for `CPtr::via` when the grant is a share).
    pub fn index(&'static self) -> Option<u8> {
        let [bound, slot] = read(&self.0);
        (bound == 1 && slot < 64).then_some(slot as u8)
    }
}

/// A shared range the task links (`ranges = [...]`) or holds a capability
/// to, named by its `[[range]]` name.
#[repr(C)]
pub struct Range([u64; 3]);

/// Where a bound [`Range`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeAt {
    /// Its address in every task that links it.
    pub base: u64,
    /// Bytes (2 MiB or 1 GiB).
    pub size: u64,
}

impl Range {
    /// The placeholder xtask overwrites.
    pub const UNBOUND: Range = Range(unbound());

    /// The range, if the image gives this task one of that name.
    pub fn get(&'static self) -> Option<RangeAt> {
        let [bound, base, size] = read(&self.0);
        (bound == 1).then_some(RangeAt { base, size })
    }
}

/// A root slot word of a binding (64 and above: none).
fn slot(w: u64) -> Option<CPtr> {
    (w < 64).then(|| CPtr::root(w as u8))
}

/// The client end of a connection to a service (`uses = ["SERVICE"]`),
/// named by the service.
#[repr(C)]
pub struct Client([u64; 5]);

/// A bound [`Client`]: the connection's range and this client's index
/// among the service's clients (image order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientEnd {
    /// The base of the 2 MiB range this client shares with the server
    /// only (linked read/write into both).
    pub base: u64,
    /// This client's index at the server: its bit in the server's exit
    /// signal (`1 << index`), and the server's order of clients.
    pub index: usize,
    /// Its wake notification (`SERVICE.N`, readable): it blocks there
    /// once it told the server it is sleeping; the server signals it.
    pub wake: Option<CPtr>,
    /// The server's wake notification (`SERVICE.wake`, writable): the
    /// client signals it after a request when the server said it sleeps.
    pub server_wake: Option<CPtr>,
}

impl Client {
    /// The placeholder xtask overwrites.
    pub const UNBOUND: Client = Client(unbound());

    /// The connection, if the image makes this task a client of the
    /// service.
    pub fn get(&'static self) -> Option<ClientEnd> {
        let [bound, base, index, wake, server_wake] = read(&self.0);
        (bound == 1).then_some(ClientEnd {
            base,
            index: index as usize,
            wake: slot(wake),
            server_wake: slot(server_wake),
        })
    }
}

/// The server end of a service (`provides = "SERVICE"`), named by the
/// service: every client's connection.
#[repr(C)]
pub struct Server([u64; 4 + 4 * MAX_CLIENTS]);

/// One client of a bound [`Server`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The base of the range the server shares with this client.
    pub base: u64,
    /// The client's index ([`ClientEnd::index`]).
    pub index: usize,
    /// The core the client runs on.
    pub core: usize,
    /// The client's wake notification (writable): signalled when the
    /// client said it is sleeping and a response is ready.
    pub wake: Option<CPtr>,
}

/// A bound [`Server`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerEnd {
    clients: [Peer; MAX_CLIENTS],
    count: usize,
    /// The notification the kernel signals `1 << index` on when client
    /// `index` ends (its exit signal), in the server's root share.
    pub ends: Option<CPtr>,
    /// The server's own wake notification (`SERVICE.wake`, readable): its
    /// clients signal it after a request when it said it sleeps, the
    /// kernel when a client ends, and the device's interrupt if the image
    /// delivers it there.
    pub wake: Option<CPtr>,
}

impl ServerEnd {
    /// The clients, in index order.
    pub fn clients(&self) -> &[Peer] {
        &self.clients[..self.count]
    }
}

impl Server {
    /// The placeholder xtask overwrites.
    pub const UNBOUND: Server = Server(unbound());

    /// The service's clients, if the image makes this task its server.
    pub fn get(&'static self) -> Option<ServerEnd> {
        let w = read(&self.0);
        if w[0] != 1 {
            return None;
        }
        let count = (w[1] as usize).min(MAX_CLIENTS);
        let ends = slot(w[2]);
        let mut clients = [Peer {
            base: 0,
            index: 0,
            core: 0,
            wake: None,
        }; MAX_CLIENTS];
        for (i, c) in clients.iter_mut().enumerate().take(count) {
            let at = 3 + 4 * i;
            *c = Peer {
                base: w[at],
                index: w[at + 1] as usize,
                core: w[at + 2] as usize,
                wake: slot(w[at + 3]),
            };
        }
        Some(ServerEnd {
            clients,
            count,
            ends,
            wake: slot(w[3 + 4 * MAX_CLIENTS]),
        })
    }
}

/// A number the image gives the task (`values = { key = N }` of its
/// `[[task]]` entry): a setting of the program that the image decides,
/// such as which partition of a disk a server serves.
#[repr(C)]
pub struct Value([u64; 2]);

impl Value {
    /// The placeholder xtask overwrites.
    pub const UNBOUND: Value = Value(unbound());

    /// The number, if the image gives this task one under that key.
    pub fn get(&'static self) -> Option<u64> {
        let [bound, value] = read(&self.0);
        (bound == 1).then_some(value)
    }
}

/// Declares bindings (see the [module docs](self)): each
/// `static NAME: KIND = "key";` becomes a static the image fills in, under
/// the symbol `__bind:KIND:key`. KIND is one of [`Slot`], [`Range`],
/// [`Client`], [`Server`], [`Value`].
#[macro_export]
macro_rules! bind {
    ($($(#[$m:meta])* $vis:vis static $name:ident: $kind:ident = $key:literal;)+) => {
        $(
            $(#[$m])*
            #[used]
            #[export_name = concat!("__bind:", stringify!($kind), ":", $key)]
            $vis static $name: $crate::bind::$kind = $crate::bind::$kind::UNBOUND;
        )+
    };
}
