//! Building the fuzzers' C programs (`fuzz-guest/guest/*.c`) with the
//! system gcc, static and `-O2`, cached next to the harness crate's guest
//! cache and rebuilt when the source is newer. These are not differential
//! test programs (they read binary input), so they live outside
//! `tests/guest/`, whose files the harness runs as such.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles `fuzz-guest/guest/<name>` and returns the binary's path. Panics
/// when gcc is missing or fails: the fuzzers cannot run without it.
pub fn build(name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("guest").join(name);
    let dir = tern_tests::cache_dir().join("fuzz");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let out = dir.join(name.trim_end_matches(".c"));
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if mtime(&out).is_some_and(|b| mtime(&src).is_some_and(|s| s <= b)) {
        return out;
    }
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let st = Command::new("gcc")
        .args(["-O2", "-Wall", "-g0", "-static", "-o"])
        .arg(&tmp)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run gcc (needed by the fuzzers): {e}"));
    assert!(st.status.success(), "compiling {name} failed:\n{}", String::from_utf8_lossy(&st.stderr));
    std::fs::rename(&tmp, &out).unwrap_or_else(|e| panic!("cannot rename {}: {e}", tmp.display()));
    out
}
