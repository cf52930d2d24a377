//! A real LTP installation run natively and under tern
//! (`tern_ltp::real`): `LTPROOT` (default `/opt/ltp`), the signal, timer,
//! sleep and wait families of `runtest/syscalls`. Without an installation
//! the test says so and checks nothing; with one it prints the per-test
//! comparison and totals (`--no-capture` shows them) and fails only if a
//! test of `tests/ltp/ltp-allowlist.txt` differs from native.
//! `TERN_LTP_REAL_JOBS` (default 4) tests run at a time.

use std::path::Path;

use tern_ltp::real;

#[test]
fn real_ltp_families() {
    let root = real::ltproot();
    let runtest = root.join("runtest/syscalls");
    let Ok(text) = std::fs::read_to_string(&runtest) else {
        eprintln!(
            "\n*** no LTP installation at {} ({} is missing): the real-LTP comparison was not run.\n\
             *** Build LTP as README.md \"Running a real LTP\" says, or set LTPROOT.\n",
            root.display(),
            runtest.display()
        );
        return;
    };
    let entries = real::parse_runtest(&text);
    assert!(!entries.is_empty(), "{} has no entries of the compared families", runtest.display());
    let jobs = std::env::var("TERN_LTP_REAL_JOBS").ok().and_then(|s| s.parse().ok()).unwrap_or(4);
    let rows = real::run_all(&root, Path::new(env!("CARGO_BIN_EXE_tern")), &entries, jobs);
    eprintln!("LTP at {}: native vs tern\n{}", root.display(), real::report(&rows));
    let allowed = real::allowlist();
    let broken: Vec<String> = rows
        .iter()
        .filter(|r| allowed.contains(&r.entry.tag) && r.native != r.tern)
        .map(|r| format!("{}: native {}, tern {}", r.entry.tag, r.native, r.tern))
        .collect();
    assert!(broken.is_empty(), "allowlisted LTP tests differ under tern:\n{}", broken.join("\n"));
}
