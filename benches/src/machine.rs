//! What the suite ran on: CPU model, core count, kernel, OS and the versions
//! of tern, qemu, valgrind and gcc.

use std::path::Path;
use std::process::Command;

use crate::config::Tools;
use crate::results::Machine;

/// Describes this machine and the tools in `tools`.
pub fn describe(tools: &Tools) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let os = std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default();
    let version = |tool: Option<&Path>, arg: &str| tool.map_or("not found".into(), |t| first_line(t, arg));
    let versions = vec![
        ("tern".to_string(), version(Some(&tools.tern), "--version")),
        ("qemu-x86_64".to_string(), version(tools.qemu.as_deref(), "--version")),
        ("valgrind".to_string(), version(tools.valgrind.as_deref(), "--version")),
        ("gcc".to_string(), version(Some(Path::new("gcc")), "--version")),
    ];
    Machine {
        cpu_model,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel,
        os,
        versions,
    }
}

/// The first non-empty line `program arg` prints, or why there is none.
pub(crate) fn first_line(program: &Path, arg: &str) -> String {
    match Command::new(program).arg(arg).output() {
        Ok(out) => {
            let text =
                String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
            text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(no output)").to_string()
        }
        Err(e) => format!("not runnable: {e}"),
    }
}
