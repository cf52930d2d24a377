//! Compiling guest programs with the system gcc/g++, cached on disk.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::SystemTime;

use crate::guest_dir;

/// How to compile a guest program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Build {
    /// Link with `-static` (otherwise the compiler default: dynamic PIE).
    pub static_: bool,
    /// Optimisation flag: `"-O0"` or `"-O2"`.
    pub opt: &'static str,
    /// Compile as C++ with g++ (otherwise C with gcc).
    pub cxx: bool,
}

impl Build {
    /// The four C builds, or the C++ ones when `cxx`: {dynamic, static} x {-O0, -O2}.
    pub fn all(cxx: bool) -> Vec<Build> {
        let mut builds = Vec::new();
        for static_ in [false, true] {
            for opt in ["-O0", "-O2"] {
                builds.push(Build { static_, opt, cxx });
            }
        }
        builds
    }

    /// The builds suited to a source file, judged by its extension.
    pub fn all_for(src: &str) -> Vec<Build> {
        Build::all(is_cxx_source(src))
    }

    fn tag(&self) -> String {
        let link = if self.static_ { "static" } else { "dyn" };
        format!("{link}{}", self.opt.trim_start_matches('-'))
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let link = if self.static_ { "static" } else { "dynamic" };
        write!(f, "{link} {}", self.opt)
    }
}

/// A `-march` level above gcc's default (x86-64): guest programs built for
/// the newer CPU models, with every instruction family the level allows
/// available to gcc's code generation (and to glibc's static IFUNCs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum March {
    /// `-march=x86-64-v3`: AVX, AVX2, FMA, BMI1/2, F16C, LZCNT, MOVBE.
    V3,
    /// `-march=x86-64-v4`: v3 plus AVX-512 F, BW, CD, DQ, VL.
    V4,
}

impl March {
    /// Both levels, lowest first.
    pub const ALL: [March; 2] = [March::V3, March::V4];

    /// The level's name, as gcc's `-march=` and tern's `--cpu` spell it.
    pub fn name(self) -> &'static str {
        match self {
            March::V3 => "x86-64-v3",
            March::V4 => "x86-64-v4",
        }
    }

    fn flag(self) -> String {
        format!("-march={}", self.name())
    }

    fn tag(self) -> &'static str {
        match self {
            March::V3 => "v3",
            March::V4 => "v4",
        }
    }
}

/// True for `.cc`, `.cpp` and `.cxx` files.
pub fn is_cxx_source(src: &str) -> bool {
    [".cc", ".cpp", ".cxx"].iter().any(|ext| src.ends_with(ext))
}

fn compiler(cxx: bool) -> &'static str {
    if cxx {
        "g++"
    } else {
        "gcc"
    }
}

/// Whether gcc (or g++ when `cxx`) can be run here. Probed once per process.
pub fn have_compiler(cxx: bool) -> bool {
    static GCC: OnceLock<bool> = OnceLock::new();
    static GXX: OnceLock<bool> = OnceLock::new();
    let cell = if cxx { &GXX } else { &GCC };
    *cell.get_or_init(|| {
        Command::new(compiler(cxx))
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// For tests: false when the compiler needed for `cxx` runs; otherwise
/// reports it missing ([`crate::missing`]: a panic in CI, a loud message
/// elsewhere) and returns true, so the caller can return early.
pub fn skip_without_compiler(cxx: bool) -> bool {
    if have_compiler(cxx) {
        return false;
    }
    crate::missing(&format!("the compiler `{}`", compiler(cxx)));
    true
}

/// Where compiled guests are cached: `$CARGO_TARGET_TMPDIR/tern-guest` when
/// that variable is set, else `target/tmp/tern-guest` of this checkout (not
/// a shared temporary directory: freshness is judged by time stamps, so two
/// checkouts sharing a cache would run each other's builds).
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp"));
    base.join("tern-guest")
}

/// Compiles `src` (a file name in [`guest_dir`]) as `b` says and returns the
/// binary's path. The binary is reused while it is newer than the source and
/// every header in the guest directory. Safe to call from several threads or
/// processes at once: each compiles to its own temporary name and renames.
pub fn build(src: &str, b: &Build) -> PathBuf {
    build_in(&cache_dir(), src, b)
}

/// [`build`] with an explicit cache directory `dir` (created if missing).
pub fn build_in(dir: &Path, src: &str, b: &Build) -> PathBuf {
    build_source(dir, &guest_dir().join(src), b)
}

/// [`build_in`] for a source file anywhere (`tests/ltp/scenarios`, say):
/// freshness is judged against the source and the headers beside it.
pub fn build_source(dir: &Path, source: &Path, b: &Build) -> PathBuf {
    build_source_march(dir, source, b, None)
}

/// [`build`] for a newer CPU level: `src` compiled as `b` says plus
/// `-march=` `march` (cached apart from the default builds).
pub fn build_march(src: &str, b: &Build, march: March) -> PathBuf {
    build_source_march(&cache_dir(), &guest_dir().join(src), b, Some(march))
}

fn build_source_march(dir: &Path, source: &Path, b: &Build, march: Option<March>) -> PathBuf {
    assert!(source.is_file(), "no guest source {}", source.display());
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let src = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let src = src.as_str();
    let stem = src.rsplit_once('.').map_or(src, |(stem, _)| stem);
    let tag = match march {
        Some(m) => format!("{}-{}", b.tag(), m.tag()),
        None => b.tag(),
    };
    let out = dir.join(format!("{stem}-{tag}"));
    if is_fresh(&out, source) {
        return out;
    }

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{stem}-{tag}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let mut cmd = Command::new(compiler(b.cxx));
    cmd.arg(b.opt).arg("-Wall").arg("-g0");
    if let Some(m) = march {
        cmd.arg(m.flag());
    }
    if b.static_ {
        cmd.arg("-static");
    }
    cmd.arg("-o").arg(&tmp).arg(source).arg("-lm").arg("-pthread");
    let output = cmd.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", compiler(b.cxx)));
    if !output.status.success() {
        let _ = fs::remove_file(&tmp);
        panic!(
            "compiling {src} ({b} {march:?}) failed: {cmd:?}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    if !output.stderr.is_empty() {
        eprintln!("warnings compiling {src} ({b}):\n{}", String::from_utf8_lossy(&output.stderr));
    }
    fs::rename(&tmp, &out)
        .unwrap_or_else(|e| panic!("cannot rename {} to {}: {e}", tmp.display(), out.display()));
    out
}

fn mtime(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Whether `out` exists and is newer than `source` and the headers beside it.
fn is_fresh(out: &Path, source: &Path) -> bool {
    let Some(built) = mtime(out) else {
        return false;
    };
    let headers = fs::read_dir(source.parent().unwrap_or(Path::new(".")))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "h"));
    std::iter::once(source.to_path_buf())
        .chain(headers)
        .all(|input| mtime(&input).is_some_and(|t| t <= built))
}
