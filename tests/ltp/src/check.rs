//! Checking one scenario: native run as the oracle, tern run compared with
//! it, and the expected-to-differ table kept true.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use tern_tests::{first_difference, skip_without_compiler, ExitStatusDesc, Outcome};

use crate::expected;
use crate::run::{run_grouped, timeout};
use crate::scenario::Scenario;

/// Lines of tern's stderr shown in a report.
const STDERR_LINES: usize = 12;

/// Builds scenario `name` in each of its builds, runs it natively and under
/// `tern`, and panics if the scenario fails natively (a defect of the
/// scenario), or if tern's verdict lines or exit status differ from native
/// while the scenario is not in the expected-to-differ table, or match
/// while it is. Without gcc it fails in CI and returns early elsewhere.
pub fn check(tern: &Path, name: &str) {
    if skip_without_compiler(false) {
        return;
    }
    let scenario = Scenario::load(name);
    let mut diffs = String::new();
    for b in &scenario.builds {
        let bin = scenario.binary(b);
        let native = run_grouped(Command::new(&bin), timeout())
            .unwrap_or_else(|e| panic!("{name} [{b}] natively: {e}: a defect of the scenario"));
        if let Some(defect) = native_defect(&native) {
            panic!("{name} [{b}] fails natively ({defect}): a defect of the scenario\n{}", show(&native));
        }
        let mut cmd = Command::new(tern);
        cmd.arg(&bin);
        match run_grouped(cmd, timeout()) {
            Err(e) => {
                let _ = writeln!(diffs, "[{b}] tern hung: {e}");
            }
            Ok(run) => {
                if let Some(d) = verdict_difference(&native, &run) {
                    let _ = writeln!(diffs, "[{b}] {d}");
                }
            }
        }
    }
    let table = expected::table_path();
    match (expected::reason(name), diffs.is_empty()) {
        (None, true) => {}
        (None, false) => panic!("{name}: tern differs from native\n{diffs}"),
        (Some(reason), true) => panic!(
            "{name} now matches native under tern: remove it from the table {} (its reason was: {reason})",
            table.display()
        ),
        (Some(reason), false) => eprintln!("{name}: differs as expected ({reason})\n{diffs}"),
    }
}

/// Why a native run is not a clean PASS/CONF, if it is not: the exit
/// status must be 0 (pass) or 32 (conf) and stdout must hold a verdict.
pub fn native_defect(native: &Outcome) -> Option<String> {
    if !matches!(native.status, ExitStatusDesc::Exited(0 | 32)) {
        return Some(native.status.to_string());
    }
    let text = String::from_utf8_lossy(&native.stdout);
    let verdicts = text.lines().filter(|l| l.contains(": PASS: ") || l.contains(": CONF: ")).count();
    (verdicts == 0).then(|| "no PASS or CONF line".to_owned())
}

/// `None` when tern's stdout (the verdict lines) and exit status equal the
/// native run's, else a report with the first differing line and the start
/// of tern's stderr.
pub fn verdict_difference(native: &Outcome, tern: &Outcome) -> Option<String> {
    let mut report = String::new();
    if native.status != tern.status {
        let _ = writeln!(report, "status: native {}, tern {}", native.status, tern.status);
    }
    if let Some(d) = first_difference(&native.stdout, &tern.stdout) {
        let _ = writeln!(report, "stdout: {d}");
    }
    if report.is_empty() {
        return None;
    }
    let _ = write!(report, "tern run:\n{}", show(tern));
    Some(report)
}

/// A run's stdout and the first lines of its stderr, indented.
fn show(run: &Outcome) -> String {
    let mut text = String::new();
    for line in String::from_utf8_lossy(&run.stdout).lines() {
        let _ = writeln!(text, "    | {line}");
    }
    for line in String::from_utf8_lossy(&run.stderr).lines().take(STDERR_LINES) {
        let _ = writeln!(text, "    ! {line}");
    }
    text
}
