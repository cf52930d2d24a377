//! tern-tests
