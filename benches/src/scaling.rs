//! The report's *Parallel speedup* table: one kernel run with the same work
//! on 1 thread (`NAME-1t`) and on 2 (`NAME`). Each configuration's speedup
//! is its 1-thread median over its 2-thread median; natively it is what the
//! machine's two cores give, and issue 11 asks tern for at least 1.8× on a
//! CPU-bound program (guest threads must run in parallel, with no global
//! lock on the execution path).

use std::fmt::Write as _;

use crate::config::ConfigId;
use crate::results::WorkloadResult;
use crate::summary;

/// (1-thread workload, 2-thread workload) pairs.
const PAIRS: &[(&str, &str)] = &[("pthread-1t", "pthread")];

/// The section as Markdown, empty when no pair has both runs measured.
pub fn render(workloads: &[WorkloadResult], configs: &[ConfigId]) -> String {
    let median = |name: &str, config: ConfigId| summary::median_of(workloads, name, config);
    let mut rows = Vec::new();
    for &(one, two) in PAIRS {
        let cells: Vec<String> = configs
            .iter()
            .map(|&c| match (median(one, c), median(two, c)) {
                (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
                _ => "–".into(),
            })
            .collect();
        if cells.iter().any(|c| c != "–") {
            rows.push(format!("| {two} | {} |", cells.join(" | ")));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Parallel speedup\n\nThe same work on 1 thread (`NAME-1t`) and on 2 (`NAME`): each \
         configuration's 1-thread median over its 2-thread median (2.00× = both cores fully used).\n"
    );
    let head: Vec<String> = configs.iter().map(|c| c.name().to_string()).collect();
    crate::report::table_head(&mut md, "workload", &head);
    for row in rows {
        let _ = writeln!(md, "{row}");
    }
    md.push('\n');
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workloads::Group;

    fn measured(name: &str, times: &[(ConfigId, f64)]) -> WorkloadResult {
        crate::results::timed(name, Group::Threads, times)
    }

    #[test]
    fn one_thread_over_two() {
        use ConfigId::{Native, Qemu, Tern};
        let configs = [Native, Tern, Qemu];
        let ws = vec![
            measured("pthread-1t", &[(Native, 2.0), (Tern, 2.2), (Qemu, 8.0)]),
            measured("pthread", &[(Native, 1.0), (Tern, 1.2)]),
        ];
        let md = render(&ws, &configs);
        assert!(md.contains("| workload | native | tern | qemu |"), "{md}");
        assert!(md.contains("| pthread | 2.00× | 1.83× | – |"), "{md}");
        assert_eq!(render(&ws[1..], &configs), "");
    }
}
