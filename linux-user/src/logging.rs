//! Log output: warnings, `--strace` lines, `-d` dumps and `--stats`, to
//! stderr or to `--log-file`, as plain lines.
//!
//! When logging is asked for (`--strace`, `-d`, `--stats`, `--log-file`), tern writes
//! through its own descriptor (`tern_syscalls::fd::LOG_FD`), a private
//! duplicate taken at startup, so a guest that closes or reuses fd 2 neither
//! loses tern's output nor receives it. Otherwise tern keeps no descriptor
//! (the guest sees exactly its own), and its rare warnings go to fd 2.

use std::io::Write;
use std::os::fd::IntoRawFd;
use std::sync::atomic::Ordering;
use tern_syscalls::fd::{private_dup, LOG_FD};
use tracing_subscriber::EnvFilter;

/// Writes to tern's log descriptor, or to fd 2 when tern keeps none.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let fd = LOG_FD.load(Ordering::Relaxed);
        let fd = if fd < 0 { 2 } else { fd };
        // SAFETY: write(2) on tern's own descriptor with a valid buffer.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sets up the log descriptor and the subscriber. `strace` and `dump`
/// enable those targets.
pub fn init(
    log_file: Option<&std::path::Path>,
    log_fd: Option<i32>,
    strace: bool,
    dump: bool,
    stats: bool,
) -> std::io::Result<()> {
    let private = strace || dump || stats || log_file.is_some() || log_fd.is_some();
    let fd = match (log_fd, log_file) {
        _ if !private => -1,
        (Some(inherited), _) => {
            let d = private_dup(inherited)?;
            // SAFETY: the inherited descriptor was handed to this tern only
            // for its log; the private duplicate replaces it.
            unsafe { libc::close(inherited) };
            d
        }
        (None, Some(p)) => {
            let f = std::fs::File::options().create(true).append(true).open(p)?.into_raw_fd();
            let d = private_dup(f)?;
            // SAFETY: closing the descriptor we just opened and duplicated.
            unsafe { libc::close(f) };
            d
        }
        (None, None) => private_dup(2)?,
    };
    LOG_FD.store(fd, Ordering::Relaxed);
    let mut filter = String::from("warn");
    if strace {
        filter.push_str(",strace=info");
    }
    if dump {
        filter.push_str(",tern::dump=info");
    }
    if let Ok(extra) = std::env::var("TERN_LOG") {
        filter.push(',');
        filter.push_str(&extra);
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(|| LogWriter)
        // The guest owns descriptor 2 and may have closed or replaced it
        // (an eventfd, a socket): a failed write of tern's own log is
        // dropped, never reported with `eprintln!`, which would panic.
        .log_internal_errors(false)
        .init();
    Ok(())
}
