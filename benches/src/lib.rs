//! tern-benches
