//! `#!` scripts and chains of interpreters, by the kernel's rules:
//! `fs/exec.c: exec_binprm()` (the program is rewritten at most a few times,
//! then ELOOP) and `fs/binfmt_script.c: load_script()` (how the line is read
//! and what the interpreter's argv becomes). Everything here is bytes: the
//! interpreter's path, its argument and the script's path are never decoded.

use super::{open_exec, LoadError};
use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The kernel reads this many bytes of a program to pick its format
/// (BINPRM_BUF_SIZE); a `#!` line is cut there.
const BINPRM_BUF_SIZE: usize = 256;

/// `exec_binprm()` looks for the format of the program at depth 0, of its
/// interpreter at depth 1, ..., and gives ELOOP past this depth (whatever
/// the file there is): five nested scripts run, a sixth does not.
const MAX_DEPTH: usize = 5;

/// The program an exec finally runs, and the argv it gets.
#[derive(Debug, PartialEq, Eq)]
pub struct Exec {
    pub path: PathBuf,
    pub argv: Vec<Vec<u8>>,
}

/// What `load_script()` takes from a `#!` line: the interpreter and its
/// optional argument.
#[derive(Debug, PartialEq, Eq)]
struct Shebang {
    interp: Vec<u8>,
    arg: Option<Vec<u8>>,
}

fn spacetab(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Bytes from `from` up to `to` or the first NUL, whichever comes first
/// (the kernel hands these to the new program as C strings).
fn c_str(buf: &[u8], from: usize, to: usize) -> Vec<u8> {
    let s = &buf[from..to];
    s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())].to_vec()
}

/// Parses the first BINPRM_BUF_SIZE bytes of a file that starts with `#!`
/// (zero-padded when the file is shorter), as `load_script()` does. Err is
/// ENOEXEC: no interpreter name, or one that may have been cut by the
/// buffer's end (a line cut after the name only loses argument bytes).
fn parse(buf: &[u8; BINPRM_BUF_SIZE]) -> Result<Shebang, i32> {
    let last = BINPRM_BUF_SIZE - 1;
    // The line ends at a newline found before any NUL (strnchr stops at
    // NUL)...
    let nul = buf.iter().position(|&b| b == 0).unwrap_or(BINPRM_BUF_SIZE);
    let mut end = match buf[..nul].iter().position(|&b| b == b'\n') {
        Some(nl) => nl,
        None => {
            // ...or, with none, at the buffer's last byte, provided the
            // name that starts after the blanks ends (blank or NUL) inside
            // the buffer.
            let start = (2..=last).find(|&i| !spacetab(buf[i])).ok_or(libc::ENOEXEC)?;
            if !(start..=last).any(|i| spacetab(buf[i]) || buf[i] == 0) {
                return Err(libc::ENOEXEC);
            }
            last
        }
    };
    while spacetab(buf[end - 1]) {
        end -= 1;
    }
    let name = (2..=end).find(|&i| !spacetab(buf[i])).filter(|&i| i != end).ok_or(libc::ENOEXEC)?;
    // The name ends at the first blank or NUL; after a blank, the rest of
    // the line (leading blanks skipped) is one argument.
    let sep = (name..=end).find(|&i| spacetab(buf[i]) || buf[i] == 0);
    let arg = sep.filter(|&s| buf[s] != 0).and_then(|s| (s..=end).find(|&i| !spacetab(buf[i])));
    Ok(match (sep, arg) {
        (Some(sep), Some(arg)) => {
            Shebang { interp: buf[name..sep].to_vec(), arg: Some(c_str(buf, arg, end)) }
        }
        _ => Shebang { interp: c_str(buf, name, end), arg: None },
    })
}

/// The first BINPRM_BUF_SIZE bytes of `file`, zero-padded.
fn head(file: &mut std::fs::File, path: &Path) -> Result<[u8; BINPRM_BUF_SIZE], LoadError> {
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(LoadError::Io { path: path.display().to_string(), err }),
        }
    }
    Ok(buf)
}

/// Follows `#!` lines from `path` (which must be executable, as each
/// interpreter must) to the program that runs, rewriting `argv` on the way:
/// `argv[0]` is replaced by the interpreter, its optional argument and the
/// script's path (the name it was run by), then the other arguments. The
/// result is checked for execute permission but not for its format.
pub fn resolve(path: &Path, argv: Vec<Vec<u8>>) -> Result<Exec, LoadError> {
    let mut file = open_exec(path)?;
    let mut exec = Exec { path: path.to_path_buf(), argv };
    for depth in 0.. {
        if depth > MAX_DEPTH {
            return Err(LoadError::Script { path: path.display().to_string(), errno: libc::ELOOP });
        }
        let buf = head(&mut file, &exec.path)?;
        if !buf.starts_with(b"#!") {
            return Ok(exec);
        }
        let script = exec.path.display().to_string();
        let line = parse(&buf).map_err(|errno| LoadError::Script { path: script.clone(), errno })?;
        let mut argv = vec![line.interp.clone()];
        argv.extend(line.arg);
        argv.push(exec.path.as_os_str().as_bytes().to_vec());
        argv.extend(exec.argv.drain(..).skip(1));
        // An empty name (a NUL right after `#!`) is looked up like "": the
        // current directory, which cannot be executed.
        let interp =
            PathBuf::from(OsStr::from_bytes(if line.interp.is_empty() { b"." } else { &line.interp }));
        file = open_exec(&interp)
            .map_err(|err| LoadError::BadInterpreter { path: script, err: Box::new(err) })?;
        exec = Exec { path: interp, argv };
    }
    unreachable!("the loop returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(bytes: &[u8]) -> Result<Shebang, i32> {
        let mut buf = [0u8; BINPRM_BUF_SIZE];
        let n = bytes.len().min(BINPRM_BUF_SIZE);
        buf[..n].copy_from_slice(&bytes[..n]);
        parse(&buf)
    }

    fn ok(interp: &[u8], arg: Option<&[u8]>) -> Result<Shebang, i32> {
        Ok(Shebang { interp: interp.to_vec(), arg: arg.map(<[u8]>::to_vec) })
    }

    #[test]
    fn name_and_one_argument() {
        assert_eq!(line(b"#!/bin/sh\n"), ok(b"/bin/sh", None));
        assert_eq!(line(b"#! \t/bin/sh  -e  -u \t\nx"), ok(b"/bin/sh", Some(b"-e  -u")));
        assert_eq!(line(b"#!/bin/\xff \xfe\n"), ok(b"/bin/\xff", Some(b"\xfe")));
        assert_eq!(line(b"#!/bin/sh\r\n"), ok(b"/bin/sh\r", None));
    }

    #[test]
    fn nul_and_missing_newline() {
        assert_eq!(line(b"#!/bin/sh\0 x\n"), ok(b"/bin/sh", None));
        assert_eq!(line(b"#!/bin/sh a\0b\n"), ok(b"/bin/sh", Some(b"a")));
        assert_eq!(line(b"#!/bin/sh"), ok(b"/bin/sh", None));
        // A blank then the zero padding: an empty argument.
        assert_eq!(line(b"#!/bin/sh "), ok(b"/bin/sh", Some(b"")));
        assert_eq!(line(b"#!"), ok(b"", None));
    }

    #[test]
    fn empty_or_cut_names_are_enoexec() {
        assert_eq!(line(b"#!\n"), Err(libc::ENOEXEC));
        assert_eq!(line(b"#! \t \n"), Err(libc::ENOEXEC));
        let mut long = b"#!".to_vec();
        long.extend([b'/'; 254]);
        long.extend(b" arg\n");
        assert_eq!(line(&long), Err(libc::ENOEXEC));
        long.remove(2);
        assert_eq!(line(&long), ok(&[b'/'; 253], None));
        let mut blanks = b"#!".to_vec();
        blanks.extend([b' '; 300]);
        assert_eq!(line(&blanks), Err(libc::ENOEXEC));
    }
}
