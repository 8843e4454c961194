//! Architecture code. Only aarch64 exists; every arch module would define
//! the same names.
pub mod aarch64;
