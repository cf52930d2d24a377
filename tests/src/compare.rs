//! Comparing two [`Outcome`]s and describing how they differ.

use std::fmt::Write as _;

use crate::run::Outcome;

/// Longest line excerpt shown in a report.
const MAX_SHOWN: usize = 200;

/// How much of tern's stderr a report shows when native printed none.
const MAX_STDERR_SHOWN: usize = 4096;

/// `Err` with a readable report if `tern` differs from `native` in stdout,
/// stderr or exit status. `name` identifies the run in the message.
pub fn compare(name: &str, native: &Outcome, tern: &Outcome) -> Result<(), String> {
    match difference(native, tern) {
        Some(report) => Err(format!("{name}: tern differs from native\n{report}")),
        None => Ok(()),
    }
}

/// [`compare`], panicking with its report (for tests).
pub fn assert_same(name: &str, native: &Outcome, tern: &Outcome) {
    if let Err(report) = compare(name, native, tern) {
        panic!("{report}");
    }
}

/// `None` when the outcomes agree, else a human-readable description.
pub fn difference(native: &Outcome, tern: &Outcome) -> Option<String> {
    let mut report = String::new();
    if native.status != tern.status {
        let _ = writeln!(report, "status: native {}, tern {}", native.status, tern.status);
    }
    for (stream, a, b) in [("stdout", &native.stdout, &tern.stdout), ("stderr", &native.stderr, &tern.stderr)]
    {
        if let Some(diff) = first_difference(a, b) {
            let _ = writeln!(report, "{stream}: {diff}");
        }
    }
    if report.is_empty() {
        return None;
    }
    let _ = write!(
        report,
        "(native {}, tern {}; stdout {} vs {} bytes, stderr {} vs {} bytes)",
        native.status,
        tern.status,
        native.stdout.len(),
        tern.stdout.len(),
        native.stderr.len(),
        tern.stderr.len()
    );
    if native.stderr.is_empty() && !tern.stderr.is_empty() {
        // tern's own message (a crash, a refused feature): the first
        // differing line alone is often just its leading newline.
        let shown = &tern.stderr[..tern.stderr.len().min(MAX_STDERR_SHOWN)];
        let _ = write!(
            report,
            "\ntern's stderr (its first {} bytes):\n{}",
            shown.len(),
            String::from_utf8_lossy(shown)
        );
    }
    Some(report)
}

/// Describes the first line where `a` (native) and `b` (tern) differ, or
/// `None` if they are equal.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<String> {
    if a == b {
        return None;
    }
    let mut a_lines = a.split_inclusive(|&c| c == b'\n');
    let mut b_lines = b.split_inclusive(|&c| c == b'\n');
    let mut number = 1;
    loop {
        match (a_lines.next(), b_lines.next()) {
            (Some(x), Some(y)) if x == y => number += 1,
            (x, y) => {
                return Some(format!(
                    "first difference at line {number}\n  native: {}\n  tern:   {}",
                    show(x),
                    show(y)
                ));
            }
        }
    }
}

/// A line for display: escaped, cut to [`MAX_SHOWN`] characters, or
/// `<end of output>` for a missing line.
fn show(line: Option<&[u8]>) -> String {
    let Some(line) = line else {
        return "<end of output>".to_string();
    };
    let text = String::from_utf8_lossy(line);
    let mut escaped: String = text.escape_debug().collect();
    if escaped.chars().count() > MAX_SHOWN {
        escaped = escaped.chars().take(MAX_SHOWN).collect::<String>() + "...";
    }
    format!("\"{escaped}\"")
}

/// `line` with every number replaced by `N` and blanks squeezed: the shape
/// of a report whose figures vary from run to run (`openssl speed`).
pub fn numbers_as_n(line: &str) -> String {
    let mut shaped = String::new();
    let mut in_num = false;
    for c in line.chars() {
        let num = c.is_ascii_digit() || (in_num && matches!(c, '.' | 'k'));
        if num && !in_num {
            shaped.push('N');
        }
        if !num {
            shaped.push(c);
        }
        in_num = num;
    }
    shaped.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::ExitStatusDesc;
    use std::time::Duration;

    fn outcome(stdout: &str, stderr: &str, status: ExitStatusDesc) -> Outcome {
        Outcome { stdout: stdout.into(), stderr: stderr.into(), status, elapsed: Duration::ZERO }
    }

    #[test]
    fn equal_outputs_have_no_difference() {
        assert_eq!(first_difference(b"a\nb\n", b"a\nb\n"), None);
        let x = outcome("x\n", "", ExitStatusDesc::Exited(0));
        assert!(difference(&x, &x.clone()).is_none());
    }

    #[test]
    fn reports_first_differing_line() {
        let d = first_difference(b"a\nb\nc\n", b"a\nB\nc\n").unwrap();
        assert!(d.contains("line 2"), "{d}");
        assert!(d.contains("\"b\\n\"") && d.contains("\"B\\n\""), "{d}");
    }

    #[test]
    fn reports_missing_lines_and_missing_newline() {
        let d = first_difference(b"a\nb\n", b"a\n").unwrap();
        assert!(d.contains("line 2") && d.contains("<end of output>"), "{d}");
        let d = first_difference(b"a\nb", b"a\nb\n").unwrap();
        assert!(d.contains("line 2"), "{d}");
    }

    #[test]
    fn reports_status_and_stderr() {
        let a = outcome("same\n", "", ExitStatusDesc::Exited(0));
        let b = outcome("same\n", "oops\n", ExitStatusDesc::Signaled(6));
        let d = difference(&a, &b).unwrap();
        assert!(d.contains("status: native exited with code 0, tern killed by signal 6 (SIGABRT)"), "{d}");
        assert!(d.contains("stderr: first difference at line 1"), "{d}");
        assert!(!d.contains("stdout: first"), "{d}");
    }

    #[test]
    fn shows_terns_own_message_past_its_first_line() {
        let a = outcome("out\n", "", ExitStatusDesc::Exited(0));
        let b = outcome(
            "",
            "\nthread 'main' panicked at x.rs:1:2:\nRefCell already borrowed\n",
            ExitStatusDesc::Signaled(6),
        );
        let d = difference(&a, &b).unwrap();
        let whole = format!("tern's stderr (its first {} bytes):", b.stderr.len());
        assert!(d.contains(&whole) && d.contains("RefCell already borrowed"), "{d}");
        let long = outcome("", &"x".repeat(2 * MAX_STDERR_SHOWN), ExitStatusDesc::Exited(1));
        let d = difference(&a, &long).unwrap();
        assert!(d.contains(&format!("its first {MAX_STDERR_SHOWN} bytes")), "{d}");
        // Native wrote to stderr too: the line comparison says it all.
        let c = outcome("out\n", "native's\n", ExitStatusDesc::Exited(0));
        assert!(!difference(&c, &b).unwrap().contains("tern's stderr"));
    }

    #[test]
    fn compare_rejects_a_different_exit_code() {
        let a = outcome("", "", ExitStatusDesc::Exited(0));
        let b = outcome("", "", ExitStatusDesc::Exited(1));
        let err = compare("codes", &a, &b).unwrap_err();
        assert!(err.starts_with("codes: tern differs from native\n"), "{err}");
        assert!(err.contains("status: native exited with code 0, tern exited with code 1"), "{err}");
        assert_eq!(compare("same", &a, &a.clone()), Ok(()));
    }

    #[test]
    fn long_lines_are_cut() {
        let long = "x".repeat(1000);
        let d = first_difference(long.as_bytes(), b"y").unwrap();
        assert!(d.len() < 600 && d.contains("..."), "{d}");
    }
}
