//! tern-syscalls
