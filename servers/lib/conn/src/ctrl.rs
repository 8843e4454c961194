//! The control words at the start of a client's range, and every step of
//! the protocol on them (the crate's documentation): each step is one
//! method here, so that the loom models run exactly the code the client
//! and the server run.

use crate::sync::{fence, AtomicU64, Ordering::*};

/// The control words: one cache line written by the server, one by the
/// client.
#[repr(C, align(64))]
pub struct Ctrl {
    /// Bumped by every server instance when it starts.
    pub epoch: AtomicU64,
    /// The last `hello` the server answered; 0 when it disconnected the
    /// client (a flood).
    pub welcome: AtomicU64,
    /// The `hello` of the connection that said it was done (the block
    /// service's `Close`, the network's `Done`; 0: none).
    pub closed: AtomicU64,
    /// What the server offers, published before its `welcome`: a word of
    /// the service's own (the network service's configuration; 0 for the
    /// others).
    pub mode: AtomicU64,
    /// Non-zero while the server is (about to be) blocked on its wake
    /// notification (`SERVICE.wake`); the server clears it when it wakes.
    pub server_sleeping: AtomicU64,
    _server_line: [u64; 3],
    /// Bumped by the client to (re)connect; never 0 once it has.
    pub hello: AtomicU64,
    /// Non-zero while the client is (about to be) blocked on its wake
    /// notification (docs/kernel-cores.md, *Waiting*); the server clears
    /// it when it signals.
    pub sleeping: AtomicU64,
    _client_line: [u64; 6],
}

#[cfg(not(all(loom, test)))]
const _: () = assert!(core::mem::size_of::<Ctrl>() == crate::CTRL_BYTES);

/// A `hello` a client sent: the connection it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The server's epoch read before the `hello` was published.
    pub epoch: u64,
    /// The `hello`.
    pub hello: u64,
}

impl Ctrl {
    /// Fresh control words (a range the kernel just zeroed holds these).
    #[cfg(test)]
    pub fn fresh() -> Ctrl {
        Ctrl {
            epoch: AtomicU64::new(0),
            welcome: AtomicU64::new(0),
            closed: AtomicU64::new(0),
            mode: AtomicU64::new(0),
            server_sleeping: AtomicU64::new(0),
            _server_line: [0; 3],
            hello: AtomicU64::new(0),
            sleeping: AtomicU64::new(0),
            _client_line: [0; 6],
        }
    }

    // The client's steps.

    /// Asks for a (new) connection: reads the epoch, then publishes the
    /// next `hello`.
    pub fn send_hello(&self) -> Hello {
        let epoch = self.epoch.load(Acquire);
        let hello = self.hello.load(Acquire).wrapping_add(1).max(1);
        self.hello.store(hello, Release);
        Hello { epoch, hello }
    }

    /// Whether `h` is answered, and by the instance of the epoch read
    /// before it: `Some(true)` connected, `Some(false)` answered but a new
    /// instance started meanwhile (send another `hello`), `None` not yet.
    pub fn answered(&self, h: Hello) -> Option<bool> {
        if self.welcome.load(Acquire) != h.hello {
            return None;
        }
        Some(self.epoch.load(Acquire) == h.epoch)
    }

    /// Whether connection `h` is still served: the same instance, its
    /// welcome not withdrawn. `Err(true)`: a new instance (connect again);
    /// `Err(false)`: disconnected.
    pub fn serving(&self, h: Hello) -> Result<(), bool> {
        if self.epoch.load(Acquire) != h.epoch {
            return Err(true);
        }
        if self.welcome.load(Acquire) != h.hello {
            return Err(false);
        }
        Ok(())
    }

    /// Says the client is about to block; the fence orders the flag before
    /// the client's last poll.
    pub fn begin_sleep(&self) {
        self.sleeping.store(1, SeqCst);
        fence(SeqCst);
    }

    /// The client no longer blocks.
    pub fn end_sleep(&self) {
        self.sleeping.store(0, Relaxed);
    }

    /// After publishing a request (or a `hello`): whether the server said
    /// it is blocked, so the client must signal its wake notification. The
    /// fence orders the client's publication before the read, against the
    /// server's flag-then-poll ([`Ctrl::begin_server_sleep`]).
    pub fn server_sleeps(&self) -> bool {
        fence(SeqCst);
        self.server_sleeping.load(Relaxed) != 0
    }

    // The server's steps.

    /// A `hello` differing from `answered` (the one this instance answered
    /// last, 0: none), if the client sent one.
    pub fn new_hello(&self, answered: u64) -> Option<u64> {
        let hello = self.hello.load(Acquire);
        (hello != answered).then_some(hello)
    }

    /// Answers `hello` (after clearing the rings), offering `mode`.
    pub fn welcome(&self, hello: u64, mode: u64) {
        self.mode.store(mode, Relaxed);
        self.welcome.store(hello, Release);
    }

    /// Withdraws the welcome (a flood): the client must connect again.
    pub fn withdraw(&self) {
        self.welcome.store(0, Release);
    }

    /// Remembers that connection `hello` said it was done.
    pub fn close(&self, hello: u64) {
        self.closed.store(hello, Release);
    }

    /// Whether the client's current connection said it was done under an
    /// earlier instance: its `hello`, if so.
    pub fn closed_hello(&self) -> Option<u64> {
        let hello = self.hello.load(Acquire);
        (hello != 0 && self.closed.load(Acquire) == hello).then_some(hello)
    }

    /// Says the server is about to block; the fence orders the flag before
    /// the server's last poll of this client's ring and `hello`.
    pub fn begin_server_sleep(&self) {
        self.server_sleeping.store(1, SeqCst);
        fence(SeqCst);
    }

    /// The server no longer blocks.
    pub fn end_server_sleep(&self) {
        self.server_sleeping.store(0, Relaxed);
    }

    /// Whether the client said it is blocked (and clears the flag): the
    /// fence orders what the server published before against the read.
    pub fn take_sleeper(&self) -> bool {
        fence(SeqCst);
        if self.sleeping.load(Relaxed) != 0 {
            self.sleeping.store(0, Relaxed);
            return true;
        }
        false
    }
}
