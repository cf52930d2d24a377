//! tern-signals
