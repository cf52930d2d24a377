//! The configurations a workload runs under, and the command prefix of each.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A way of running a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigId {
    /// Directly on the host: the reference every ratio is relative to.
    Native,
    /// `tern` with default options (hot traces off by default).
    Tern,
    /// `tern --no-traces`: the baseline translator only.
    TernBaseline,
    /// `tern --traces`: the baseline plus LLVM-compiled hot traces.
    TernTraces,
    /// `qemu-x86_64` from Debian's qemu-user.
    Qemu,
    /// `valgrind --tool=none`.
    Valgrind,
}

impl ConfigId {
    /// Every configuration, in report order.
    pub const ALL: [ConfigId; 6] = [
        ConfigId::Native,
        ConfigId::Tern,
        ConfigId::TernBaseline,
        ConfigId::TernTraces,
        ConfigId::Qemu,
        ConfigId::Valgrind,
    ];

    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            ConfigId::Native => "native",
            ConfigId::Tern => "tern",
            ConfigId::TernBaseline => "tern-baseline",
            ConfigId::TernTraces => "tern-traces",
            ConfigId::Qemu => "qemu",
            ConfigId::Valgrind => "valgrind",
        }
    }

    /// Parses a name from [`ConfigId::name`].
    pub fn parse(s: &str) -> Option<ConfigId> {
        ConfigId::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Parses a comma-separated list; native is always included (first),
    /// since every ratio and output check is relative to it.
    pub fn parse_list(s: &str) -> Result<Vec<ConfigId>, String> {
        let mut list = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            list.push(ConfigId::parse(name).ok_or_else(|| {
                let valid: Vec<&str> = ConfigId::ALL.iter().map(|c| c.name()).collect();
                format!("unknown configuration `{name}` (valid: {})", valid.join(", "))
            })?);
        }
        Ok(ConfigId::with_native(&list))
    }

    /// `list` with native added, in report order, without duplicates.
    pub fn with_native(list: &[ConfigId]) -> Vec<ConfigId> {
        let mut list: Vec<ConfigId> = list.iter().copied().chain([ConfigId::Native]).collect();
        list.sort();
        list.dedup();
        list
    }
}

/// The emulators' paths. `None` for a tool that was not found.
#[derive(Clone, Debug)]
pub struct Tools {
    pub tern: PathBuf,
    pub qemu: Option<PathBuf>,
    pub valgrind: Option<PathBuf>,
}

impl Tools {
    /// tern at `tern`, qemu-x86_64 and valgrind from PATH.
    pub fn find(tern: &Path) -> Tools {
        Tools {
            tern: tern.to_path_buf(),
            qemu: find_in_path("qemu-x86_64"),
            valgrind: find_in_path("valgrind"),
        }
    }

    /// The words that go before the program's path to run it under `config`,
    /// or why it cannot run.
    pub fn prefix(&self, config: ConfigId) -> Result<Vec<OsString>, String> {
        let tool = |p: &Option<PathBuf>, what: &str| {
            p.clone().ok_or_else(|| format!("{what} not found in PATH (apt-get install {})", package(what)))
        };
        Ok(match config {
            ConfigId::Native => vec![],
            ConfigId::Tern => vec![self.tern.clone().into()],
            ConfigId::TernBaseline => vec![self.tern.clone().into(), "--no-traces".into()],
            ConfigId::TernTraces => vec![self.tern.clone().into(), "--traces".into()],
            ConfigId::Qemu => vec![tool(&self.qemu, "qemu-x86_64")?.into()],
            // --trace-children: programs the workload execs run under
            // valgrind too, as they do under tern.
            ConfigId::Valgrind => vec![
                tool(&self.valgrind, "valgrind")?.into(),
                "--tool=none".into(),
                "-q".into(),
                "--trace-children=yes".into(),
            ],
        })
    }

    /// The prefix of the untimed counter run: `tern --stats`, or with
    /// `traces`, `tern --traces --stats`.
    pub fn stats_prefix(&self, traces: bool) -> Vec<OsString> {
        let mut prefix = vec![self.tern.clone().into()];
        if traces {
            prefix.push("--traces".into());
        }
        prefix.push("--stats".into());
        prefix
    }
}

fn package(tool: &str) -> &str {
    match tool {
        "qemu-x86_64" => "qemu-user",
        other => other,
    }
}

/// The first executable file called `name` in PATH.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_list_keeps_native_first() {
        let l = ConfigId::parse_list("qemu,tern").unwrap();
        assert_eq!(l, vec![ConfigId::Native, ConfigId::Tern, ConfigId::Qemu]);
        assert!(ConfigId::parse_list("tern,bochs").is_err());
    }
}
