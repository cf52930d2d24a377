//! tern linux-user: the `tern` binary's parts.
//!
//! Owns the command line, the ELF loader and initial stack, guest threads and
//! the CPU loop that runs translated code and acts on its exits. It is the
//! only crate that depends on all the others.

pub mod bisect;
pub mod cli;
pub mod cpu_loop;
pub mod loader;
pub mod logging;
pub mod optimizer;
pub mod stats;
pub mod step;
pub mod thread;
pub mod trace_lib;
