//! Capability tables (shares) and the derivation tree. (being written)
