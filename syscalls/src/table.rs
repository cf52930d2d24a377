//! The row type of the syscall table (`rows.rs`) and the dispatch through
//! it: every x86-64 number has one row saying how tern supports the call.
//!
//! Support levels, printed by `tern --syscalls`: `pass` (the host kernel
//! runs it with the guest's arguments), `tern` (a handler in this crate),
//! `refused` (the errno a kernel without the feature gives, and why).
//! Numbers without a row get ENOSYS, as from a kernel that predates them.
//! Before a passed or handled call runs, `guard` checks its pointer
//! arguments against tern's memory and unprotects the code pages the kernel
//! will write (from the row's argument kinds).

use crate::strace::{Arg, Ret};
use crate::{guard, host_syscall, Flow, Process, SysResult};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Mutex;
use tern_translate::cpu::CpuState;

/// A tern-owned handler.
pub type Handler = fn(&Process, &mut CpuState, [u64; 6]) -> (Flow, SysResult);

/// How tern supports a syscall.
#[derive(Clone, Copy)]
pub enum Support {
    /// The host kernel runs it as it is.
    Pass,
    /// tern handles it, for the reason given.
    Own(Handler, &'static str),
    /// Refused with this errno, for the reason given.
    Refuse(i32, &'static str),
}

/// One system call: number, name, argument and result kinds, support.
pub struct Row {
    pub nr: u16,
    pub name: &'static str,
    pub(crate) args: &'static [Arg],
    pub(crate) ret: Ret,
    pub support: Support,
}

/// A call whose arguments are decoded, passed to the host.
pub(crate) const fn sys(nr: u16, name: &'static str, args: &'static [Arg]) -> Row {
    Row { nr, name, args, ret: Ret::Dec, support: Support::Pass }
}

/// A call printed like strace's `printargs`: `n` arguments in hex. The
/// table does not say which are pointers: `guard` treats every argument
/// that points into tern's memory as such, and the call as writing memory
/// it cannot describe.
pub(crate) const fn raw(nr: u16, name: &'static str, n: usize) -> Row {
    const HEX6: &[Arg] = &[Arg::Hex; 6];
    Row { nr, name, args: HEX6.split_at(n).0, ret: Ret::Dec, support: Support::Pass }
}

impl Row {
    pub(crate) const fn ret(self, ret: Ret) -> Row {
        Row { ret, ..self }
    }

    pub(crate) const fn own(self, h: Handler, why: &'static str) -> Row {
        Row { support: Support::Own(h, why), ..self }
    }

    pub(crate) const fn refuse(self, errno: i32, why: &'static str) -> Row {
        Row { support: Support::Refuse(errno, why), ..self }
    }

    /// True for rows built by [`raw`].
    pub(crate) fn is_raw(&self) -> bool {
        self.args.iter().all(|&k| k == Arg::Hex)
    }
}

/// Syscall numbers [`row`] looks up directly (x86-64's stop below 512).
const INDEXED: usize = 512;

/// The position in `ROWS` of each syscall number's row, `u16::MAX` for
/// none: built at compile time, so that finding a row is one load from
/// here rather than a binary search over rows of a cache line each (a
/// tenth of tern's time in a loop of `getppid`).
static INDEX: [u16; INDEXED] = {
    let rows = crate::rows::ROWS;
    let mut index = [u16::MAX; INDEXED];
    let mut i = 0;
    while i < rows.len() {
        assert!(
            (rows[i].nr as usize) < INDEXED && index[rows[i].nr as usize] == u16::MAX,
            "one row per number"
        );
        index[rows[i].nr as usize] = i as u16;
        i += 1;
    }
    index
};

/// The row of syscall `nr`.
pub fn row(nr: u64) -> Option<&'static Row> {
    let i = *INDEX.get(usize::try_from(nr).ok()?)?;
    crate::rows::ROWS.get(usize::from(i))
}

static LOGGED: Mutex<Option<HashSet<u64>>> = Mutex::new(None);

/// Logs a refusal once per number: refusals by design at debug level
/// (`TERN_LOG=debug`), unknown numbers a later kernel may assign as
/// warnings (a call tern does not know yet). A number no x86-64 kernel
/// assigns (the gap after `uprobe` kept for the numbers shared by all
/// architectures, x32's, 512 and up) is ENOSYS natively too, without a
/// word: stress-ng's `enosys` stressor probes 836 of them, and each
/// printed a line on the guest's standard error.
fn log_once(nr: u64, why: &str, unknown: bool) {
    let mut g = LOGGED.lock().unwrap_or_else(|e| e.into_inner());
    if g.get_or_insert_with(HashSet::new).insert(nr) {
        let highest = crate::rows::ROWS.iter().map(|r| u64::from(r.nr)).max().unwrap_or(0);
        if unknown && (highest..INDEXED as u64).contains(&nr) {
            tracing::warn!("tern: syscall {nr} returns ENOSYS: {why}");
        } else {
            tracing::debug!("tern: syscall {nr} is refused: {why}");
        }
    }
}

/// Executes syscall `nr` once. Returns the flow and the raw result for rax.
pub fn call(p: &Process, cpu: &mut CpuState, nr: u64, args: [u64; 6]) -> (Flow, i64) {
    let Some(row) = row(nr) else {
        log_once(nr, "unknown syscall", true);
        return (Flow::Continue, -i64::from(libc::ENOSYS));
    };
    let (flow, r) = match row.support {
        Support::Refuse(errno, why) => {
            log_once(nr, why, false);
            (Flow::Continue, Err(errno))
        }
        support => match (guard::before(p, cpu, row, args), support) {
            (Err(e), _) => (Flow::Continue, Err(e)),
            (Ok(()), Support::Own(h, _)) => h(p, cpu, args),
            (Ok(()), _) => return (Flow::Continue, host_syscall(nr, args)),
        },
    };
    (
        flow,
        match r {
            Ok(v) => v as i64,
            Err(e) => -i64::from(e),
        },
    )
}

/// The table as a compatibility list: number, name, support, reason.
pub fn compat_list() -> String {
    let mut s = String::from("# tern syscall support (x86-64 numbers)\n");
    let _ = writeln!(s, "# {:>3}  {:<24} {:<15} reason", "nr", "name", "support");
    for r in crate::rows::ROWS {
        let (support, why) = match r.support {
            Support::Pass => ("pass".to_string(), ""),
            Support::Own(_, why) => ("tern".to_string(), why),
            Support::Refuse(e, why) => (format!("refused {}", crate::strace::errno_name(e)), why),
        };
        let _ = writeln!(s, "{:>5}  {:<24} {:<15} {why}", r.nr, r.name, support);
        // Trim the padding of rows without a reason.
        let end = s.trim_end().len();
        s.truncate(end);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::ROWS;

    #[test]
    fn rows_are_consistent() {
        for r in ROWS {
            match r.support {
                Support::Pass => {}
                Support::Own(_, why) | Support::Refuse(_, why) => assert!(!why.is_empty(), "{}", r.name),
            }
            if let Support::Refuse(e, _) = r.support {
                assert!(e > 0, "{}", r.name);
            }
            for (i, &k) in r.args.iter().enumerate() {
                match k {
                    Arg::OutArr(_, j) => {
                        assert!(usize::from(j) < r.args.len() && usize::from(j) != i, "{}", r.name)
                    }
                    Arg::Range | Arg::MmsgVec(_) | Arg::BpfAttr | Arg::XattrArgs(_) => {
                        assert!(i + 1 < r.args.len(), "{}", r.name)
                    }
                    _ => {}
                }
            }
        }
        assert!(matches!(row(8).map(|r| r.support), Some(Support::Pass)));
        assert!(matches!(row(134).map(|r| r.support), Some(Support::Refuse(libc::ENOSYS, _))));
        assert!(row(400).is_none() && row(100_000).is_none());
    }

    #[test]
    fn compat_list_has_a_line_per_row() {
        let list = compat_list();
        assert_eq!(list.lines().filter(|l| !l.starts_with('#')).count(), ROWS.len());
        assert!(list.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["8", "lseek", "pass"]));
        assert!(list.lines().all(|l| l == l.trim_end()));
    }
}
