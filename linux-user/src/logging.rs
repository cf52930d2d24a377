//! Log output: warnings, `--strace` lines and `-d` dumps, to stderr or to
//! `--log-file`, as plain lines.

use std::fs::File;
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

/// Sets up the subscriber. `strace` and `dump` enable those targets.
pub fn init(log_file: Option<&std::path::Path>, strace: bool, dump: bool) -> std::io::Result<()> {
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false);
    match log_file {
        Some(p) => {
            let f = File::options().create(true).append(true).open(p)?;
            builder.with_writer(Mutex::new(f)).init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}
