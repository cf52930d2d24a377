//! `#!` scripts, as `fs/binfmt_script.c: load_script()` handles them: the
//! interpreter runs with argv `[interp, optional-arg, script, args[1..]]`.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Linux reads at most this many bytes of the `#!` line (BINPRM_BUF_SIZE).
const BUF: usize = 256;
/// Nesting limit for scripts whose interpreter is a script.
const MAX_DEPTH: usize = 4;

/// If `path` is a `#!` script, returns the interpreter's path and the new
/// argv; otherwise None. `argv[0]` is replaced as the kernel replaces it.
fn rewrite_once(path: &Path, argv: &[Vec<u8>]) -> Option<(PathBuf, Vec<Vec<u8>>)> {
    let mut buf = [0u8; BUF];
    let n = std::fs::File::open(path).ok()?.read(&mut buf).ok()?;
    let head = &buf[..n];
    let line = head.strip_prefix(b"#!")?;
    let line = &line[..line.iter().position(|&b| b == b'\n').unwrap_or(line.len())];
    let trim = |s: &[u8]| -> Vec<u8> {
        let ws = |b: &u8| *b == b' ' || *b == b'\t';
        let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
        let end = s.iter().rposition(|b| !ws(b)).map_or(start, |e| e + 1);
        s[start..end.max(start)].to_vec()
    };
    let line = trim(line);
    if line.is_empty() {
        return None;
    }
    let split = line.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(line.len());
    let interp = line[..split].to_vec();
    let arg = trim(&line[split..]);
    let mut new_argv = vec![interp.clone()];
    if !arg.is_empty() {
        new_argv.push(arg);
    }
    new_argv.push(path.as_os_str().as_encoded_bytes().to_vec());
    new_argv.extend(argv.iter().skip(1).cloned());
    // SAFETY-free conversion: Linux paths are bytes.
    let interp = PathBuf::from(std::ffi::OsString::from(String::from_utf8_lossy(&interp).into_owned()));
    Some((interp, new_argv))
}

/// Follows `#!` lines until an ELF file (or a file that is neither) remains.
pub fn resolve_scripts(path: PathBuf, argv: Vec<Vec<u8>>) -> (PathBuf, Vec<Vec<u8>>) {
    let (mut path, mut argv) = (path, argv);
    for _ in 0..MAX_DEPTH {
        match rewrite_once(&path, &argv) {
            Some((p, a)) => {
                path = p;
                argv = a;
            }
            None => break,
        }
    }
    (path, argv)
}
