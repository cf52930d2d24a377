//! The report's *Ceilings* table: kernels measured both as the plain x86-64
//! static build (`NAME-static`) and as a `-march=native` static build
//! (`NAME-native`, see [`workloads::native_ceilings`]). The native run of the
//! `-march=native` build is what the host CPU does with the same source when
//! the compiler may use all of it (AVX2, AVX-512...): the ceiling a trace
//! tier compiling for the host could reach on the plain build. The table puts
//! each configuration's time on the plain build over that ceiling.

use std::fmt::Write as _;

use crate::config::ConfigId;
use crate::results::WorkloadResult;
use crate::summary;
use crate::workloads;

/// The section as Markdown, empty when no kernel has both builds measured.
pub fn render(workloads: &[WorkloadResult], configs: &[ConfigId]) -> String {
    let median = |name: &str, config: ConfigId| summary::median_of(workloads, name, config);
    let emulated: Vec<ConfigId> = configs.iter().copied().filter(|&c| c != ConfigId::Native).collect();
    let mut rows = Vec::new();
    for (plain, native) in workloads::native_ceilings() {
        let (Some(plain_native), Some(ceiling)) =
            (median(&plain, ConfigId::Native), median(&native, ConfigId::Native))
        else {
            continue;
        };
        let mut cells = vec![
            crate::report::seconds(plain_native),
            crate::report::seconds(ceiling),
            format!("{:.2}×", ceiling / plain_native),
        ];
        cells.extend(
            emulated
                .iter()
                .map(|&c| median(&plain, c).map_or("–".into(), |t| format!("{:.2}×", t / ceiling))),
        );
        rows.push(format!("| {plain} | {} |", cells.join(" | ")));
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Ceilings\n\nKernels built twice, static and `-O2`: for plain x86-64 (`NAME-static`) and with \
         `-march=native` (`NAME-native`, which may use every vector unit of this CPU). *native x86-64* and \
         *native -march=native* are the native medians of the two builds; *ceiling* is their quotient \
         (below 1: the host's extensions pay). Each configuration's column is its median on the plain \
         x86-64 build over the `-march=native` build's native median: 1.00× reaches the ceiling, below 1 \
         beats it.\n"
    );
    let mut head = vec!["native x86-64".to_string(), "native -march=native".into(), "ceiling".into()];
    head.extend(emulated.iter().map(|c| format!("{} / ceiling", c.name())));
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
        crate::results::timed(name, Group::Fp, times)
    }

    #[test]
    fn plain_build_over_the_native_ceiling() {
        use ConfigId::{Native, Tern, TernTraces};
        let configs = [Native, Tern, TernTraces];
        let ws = vec![
            measured("matmul-static", &[(Native, 2.0), (Tern, 2.4), (TernTraces, 1.5)]),
            measured("matmul-native", &[(Native, 1.0), (Tern, 1.1), (TernTraces, 1.0)]),
            measured("spectral-static", &[(Native, 1.0), (Tern, 1.0)]),
        ];
        let md = render(&ws, &configs);
        assert!(
            md.contains(
                "| workload | native x86-64 | native -march=native | ceiling | tern / ceiling | \
                             tern-traces / ceiling |"
            ),
            "{md}"
        );
        assert!(md.contains("| matmul-static | 2.00 s | 1.00 s | 0.50× | 2.40× | 1.50× |"), "{md}");
        // spectral has no -march=native build measured: no row.
        assert!(!md.contains("spectral"), "{md}");
        assert_eq!(render(&ws[2..], &configs), "");
    }
}
