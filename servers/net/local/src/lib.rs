//! Configuration 2 of the network service on the client's side
//! (docs/network-frames.md): the server passes raw Ethernet frames
//! and this task runs its own smoltcp stack (`net-stack`, the same socket
//! pool the server runs in configuration 1, with this task as its only
//! client) over them ([`link::Link`]). [`Local`] has the same socket calls
//! as `net_api::client::Net` (`net_api::Sockets`), and [`attach`] gives
//! whichever the server's welcome offers, so an application is written
//! once for both configurations; with several requests in flight
//! (`net_api::Pipelined`, the web workers) too: [`Local`] validates and
//! holds them as the server does (`pipe`).
//!
//! A server restart loses frames, not sockets: the stack and its
//! connections live here; the link posts its receive buffers to the new
//! instance and TCP retransmits what was lost.
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]

#[cfg(target_arch = "aarch64")]
pub mod link;
#[cfg(target_arch = "aarch64")]
mod local;
#[cfg(target_arch = "aarch64")]
mod pipe;
#[cfg(target_arch = "aarch64")]
pub use local::{attach, Any, Local};
