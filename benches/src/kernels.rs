//! Building the C kernels of `benches/kernels/` with the host gcc (`-O2`,
//! static or dynamic, optionally `-march=x86-64-v3` or `-march=native`),
//! cached in the cache directory under a name that carries a hash of the
//! sources and flags (for `-march=native`, also of what gcc makes of it on
//! this host, so a cache shared between machines never runs another CPU's
//! build).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::run::fnv1a;
use crate::workloads::{Link, March};

/// The header every kernel includes.
const COMMON_HEADER: &str = "common.h";

/// gcc flags for a kernel build (before the source and output names).
fn flags(link: Link, march: March) -> Vec<&'static str> {
    let mut f = vec!["-O2", "-pthread"];
    if link == Link::Static {
        f.push("-static");
    }
    match march {
        March::Default => {}
        March::V3 => f.push("-march=x86-64-v3"),
        March::Native => f.push("-march=native"),
    }
    f
}

/// What `-march=native` means on this host: gcc's expansion of it into an
/// explicit `-march=CPU -mFEATURE...` list (from `gcc -###`), empty for the
/// other levels.
fn host_target(march: March) -> Result<Vec<u8>> {
    if march != March::Native {
        return Ok(Vec::new());
    }
    let out = Command::new("gcc")
        .args(["-###", "-march=native", "-E", "-x", "c", "/dev/null"])
        .output()
        .context("running gcc (install it with apt-get install gcc)")?;
    if !out.status.success() {
        bail!("gcc -### -march=native failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(out.stderr)
}

/// Returns the binary of kernel `src` (a file in `kernels_dir`) built with
/// `link` for `march`, compiling it into `cache/kernels/` first when it is
/// missing.
pub fn build(src: &str, link: Link, march: March, kernels_dir: &Path, cache: &Path) -> Result<PathBuf> {
    let src_path = kernels_dir.join(src);
    let source = fs::read(&src_path).with_context(|| format!("reading {}", src_path.display()))?;
    let header = fs::read(kernels_dir.join(COMMON_HEADER)).unwrap_or_default();
    let flags = flags(link, march);
    let key = [source.as_slice(), &header, flags.join(" ").as_bytes(), &host_target(march)?].concat();
    let stem = src.trim_end_matches(".c");
    let dir = cache.join("kernels");
    let out = dir.join(format!("{stem}-{}{}-{:08x}", link.tag(), march.tag(), fnv1a(&key) as u32));
    if out.exists() {
        return Ok(out);
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = out.with_extension("tmp");
    let result = Command::new("gcc")
        .args(&flags)
        .arg("-o")
        .arg(&tmp)
        .arg(&src_path)
        .arg("-lm")
        .output()
        .context("running gcc (install it with apt-get install gcc)")?;
    if !result.status.success() {
        bail!("gcc failed on {}: {}", src_path.display(), String::from_utf8_lossy(&result.stderr).trim());
    }
    fs::rename(&tmp, &out).with_context(|| format!("renaming to {}", out.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `-march=native` build of a kernel is cached apart from the plain
    /// one, found again on the second call, and prints what the plain build
    /// prints (the calls kernel is integer code: no FMA contraction).
    #[test]
    fn native_build_is_cached_apart_and_agrees() {
        let kernels = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernels");
        let cache = std::env::temp_dir().join(format!("tern-bench-kernels-{}", std::process::id()));
        let _ = fs::remove_dir_all(&cache);
        let plain = build("int_calls.c", Link::Static, March::Default, &kernels, &cache).unwrap();
        let native = build("int_calls.c", Link::Static, March::Native, &kernels, &cache).unwrap();
        assert_ne!(plain, native);
        let name = native.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("int_calls-static-native-"), "{name}");
        assert_eq!(build("int_calls.c", Link::Static, March::Native, &kernels, &cache).unwrap(), native);
        let run = |bin: &Path| {
            let out = Command::new(bin).arg("3").output().unwrap();
            assert!(out.status.success(), "{}", bin.display());
            String::from_utf8(out.stdout).unwrap()
        };
        let out = run(&plain);
        assert!(out.starts_with("calls n=3 sum="), "{out}");
        assert_eq!(run(&native), out);
        fs::remove_dir_all(&cache).unwrap();
    }
}
