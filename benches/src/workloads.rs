//! The workload table: what the suite runs, at which size, and how each run
//! is judged.
//!
//! Every workload has one size `n` (full mode and quick mode values) that is
//! substituted into its argument templates and decides the size of its
//! generated input. Argument templates may use:
//!
//! - `{n}`: the size;
//! - `{input}`: the generated input file (see [`Input`]);
//! - `{scripts}`: `benches/scripts/`;
//! - `{scratch}`: an empty directory for this run (also its working directory).

use serde::{Deserialize, Serialize};

/// Workload groups; the report gives a geometric mean per group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// CPU-bound integer C kernels.
    Int,
    /// CPU-bound floating-point C kernels.
    Fp,
    /// Real programs from Debian, single-threaded.
    Programs,
    /// Multithreaded programs and kernels.
    Threads,
    /// Syscall- and signal-heavy kernels and stressors.
    Syscalls,
    /// Process start-up.
    Startup,
    /// Work done by CPUID-dispatched SIMD code: glibc's string functions, numpy.
    Simd,
    /// The `int` and `fp` kernels built with `-march=x86-64-v3`.
    V3,
}

impl Group {
    /// All groups, in report order.
    pub const ALL: [Group; 8] = [
        Group::Int,
        Group::Fp,
        Group::Programs,
        Group::Threads,
        Group::Syscalls,
        Group::Startup,
        Group::Simd,
        Group::V3,
    ];

    /// The group's name as used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Group::Int => "int",
            Group::Fp => "fp",
            Group::Programs => "programs",
            Group::Threads => "threads",
            Group::Syscalls => "syscalls",
            Group::Startup => "startup",
            Group::Simd => "simd",
            Group::V3 => "v3",
        }
    }
}

/// How a C kernel is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// `gcc -static`.
    Static,
    /// The compiler default (dynamic PIE).
    Dynamic,
}

impl Link {
    /// Suffix of the workload name and of the cached binary.
    pub fn tag(self) -> &'static str {
        match self {
            Link::Static => "static",
            Link::Dynamic => "dyn",
        }
    }
}

/// The CPU level a C kernel is compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum March {
    /// gcc's default (x86-64).
    Default,
    /// `-march=x86-64-v3` (AVX2, FMA, BMI2...).
    V3,
    /// `-march=native`: everything the host CPU has (AVX2, AVX-512...).
    /// Its native time is the ceiling for a trace tier that uses the host's
    /// vector units on a binary built for plain x86-64.
    Native,
}

impl March {
    /// Suffix of the workload name and of the cached binary (empty for the default).
    pub fn tag(self) -> &'static str {
        match self {
            March::Default => "",
            March::V3 => "-v3",
            March::Native => "-native",
        }
    }
}

/// The program a workload runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    /// A C kernel from `benches/kernels/` (file name), built with `gcc -O2`
    /// for `march`.
    Kernel { src: &'static str, link: Link, march: March },
    /// An installed program by absolute path, and the Debian package that has it.
    System { path: &'static str, package: &'static str },
    /// The C compiler proper (`cc1`) of the host gcc, so that every
    /// configuration measures the compilation itself: qemu does not follow
    /// the `gcc` driver's `execve` of `cc1`.
    GccCc1,
}

/// A generated input file, made once per size into the cache directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// No input file.
    None,
    /// `n` KiB of compressible, text-like data.
    Text,
    /// An sqlite3 script: schema, `n` generated inserts, then `scripts/sqlite_queries.sql`.
    SqlScript,
    /// A C file of `n` generated functions.
    CSource,
}

/// What the runner measures.
#[derive(Clone, Copy, Debug)]
pub enum Metric {
    /// Wall time of one run.
    Time,
    /// The program is started `n` times back to back; the value is the mean
    /// wall time of one start.
    PerStart,
    /// A rate the program reports itself (fixed-duration benchmarks); a
    /// configuration's ratio is native rate / its rate.
    Rate {
        /// The unit of the parsed rate.
        unit: &'static str,
        /// Extracts the rate from the program's stdout.
        parse: fn(&str) -> Option<f64>,
    },
}

/// How a run's result is checked (beyond a zero exit status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Stdout must equal the native run's stdout.
    Stdout,
    /// Only the exit status counts (the output has timings in it).
    Status,
}

/// A size per mode, and whether the workload is part of quick mode (a
/// workload left out still uses its quick size when named explicitly).
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub full: u64,
    pub quick: u64,
    pub in_quick: bool,
}

/// One benchmark.
#[derive(Clone, Debug)]
pub struct Workload {
    pub name: String,
    pub group: Group,
    pub about: &'static str,
    pub program: Program,
    pub args: &'static [&'static str],
    pub input: Input,
    pub scale: Scale,
    pub metric: Metric,
    pub check: Check,
}

impl Workload {
    /// Whether the workload belongs to quick mode.
    pub fn in_quick(&self) -> bool {
        self.scale.in_quick
    }

    /// The size for a mode.
    pub fn n(&self, quick: bool) -> u64 {
        if quick {
            self.scale.quick
        } else {
            self.scale.full
        }
    }

    /// The number of starts per sample ([`Metric::PerStart`] runs the program `n` times).
    pub fn starts(&self, n: u64) -> u64 {
        match self.metric {
            Metric::PerStart => n.max(1),
            _ => 1,
        }
    }
}

/// A CPU-bound C kernel, built both static and dynamic.
struct Kernel {
    name: &'static str,
    src: &'static str,
    group: Group,
    about: &'static str,
    full: u64,
    quick: u64,
}

const fn kernel(
    name: &'static str,
    src: &'static str,
    group: Group,
    full: u64,
    quick: u64,
    about: &'static str,
) -> Kernel {
    Kernel { name, src, group, about, full, quick }
}

/// The CPU-bound kernels; each becomes `NAME-static` and `NAME-dyn`.
const CPU_KERNELS: &[Kernel] = &[
    kernel("sort", "int_sort.c", Group::Int, 8_000_000, 150_000, "quicksort + radix sort of N keys"),
    kernel("hash", "int_hash.c", Group::Int, 6_000_000, 150_000, "open-addressing hash table, N inserts"),
    kernel("interp", "int_interp.c", Group::Int, 500_000, 15_000, "switch-dispatch VM: Collatz of 1..N"),
    kernel("bits", "int_bits.c", Group::Int, 20_480, 256, "LZ77 + gamma-coded bit stream + CRC-32 of N KiB"),
    kernel(
        "calls",
        "int_calls.c",
        Group::Int,
        12_000,
        800,
        "function-pointer table calls + recursion, N rounds",
    ),
    kernel("nbody", "fp_nbody.c", Group::Fp, 8_000_000, 150_000, "5-body simulation, N steps"),
    kernel("spectral", "fp_spectral.c", Group::Fp, 4_000, 500, "spectral norm, N x N"),
    kernel("mandel", "fp_mandel.c", Group::Fp, 4_000, 500, "Mandelbrot set, N x N pixels"),
    kernel("matmul", "fp_matmul.c", Group::Fp, 1_100, 250, "double matrix multiply, N x N"),
];

/// Kernels also built static with `-march=native` (`NAME-native`, in the
/// kernel's own group next to `NAME-static`): the native time of that build
/// is the ceiling for running the plain x86-64 build with the host's vector
/// units (hot traces compile for the host CPU).
const NATIVE_CEILINGS: &[&str] = &["spectral", "matmul"];

fn parse_openssl_rate(out: &str) -> Option<f64> {
    // `openssl speed -mr` prints `+F:<n>:<alg>:<bytes per second>...`.
    let line = out.lines().find(|l| l.starts_with("+F:"))?;
    let bytes_per_s: f64 = line.rsplit(':').next()?.trim().parse().ok()?;
    Some(bytes_per_s / 1e6)
}

fn parse_7z_rate(out: &str) -> Option<f64> {
    // `7z b` ends with `Tot: <usage> <R/U MIPS> <rating MIPS>`.
    let line = out.lines().find(|l| l.trim_start().starts_with("Tot:"))?;
    line.split_whitespace().last()?.parse().ok()
}

const fn system(path: &'static str, package: &'static str) -> Program {
    Program::System { path, package }
}

/// Sizes of a workload that is part of quick mode.
const fn scale(full: u64, quick: u64) -> Scale {
    Scale { full, quick, in_quick: true }
}

/// Sizes of a workload that quick mode leaves out.
const fn full_only(full: u64, quick: u64) -> Scale {
    Scale { full, quick, in_quick: false }
}

/// Everything that is not a static/dynamic CPU kernel pair: (name, group,
/// program, args, input, scale, metric, check, about).
type Row = (&'static str, Group, Program, &'static [&'static str], Input, Scale, Metric, Check, &'static str);

/// A kernel of the other groups (threads, syscalls): dynamic build only.
const fn kernel_dyn(src: &'static str) -> Program {
    Program::Kernel { src, link: Link::Dynamic, march: March::Default }
}

/// A kernel of the `simd` group, in either link.
const fn kernel_linked(src: &'static str, link: Link) -> Program {
    Program::Kernel { src, link, march: March::Default }
}

#[rustfmt::skip]
const OTHERS: &[Row] = &[
    // Real programs.
    ("xz-9", Group::Programs, system("/usr/bin/xz", "xz-utils"),
        &["-9", "-c", "{input}"],
        Input::Text, scale(4 * 1024, 256), Metric::Time, Check::Stdout,
        "xz -9 of N KiB of generated text"),
    ("bzip2", Group::Programs, system("/usr/bin/bzip2", "bzip2"),
        &["-9", "-c", "{input}"],
        Input::Text, scale(20 * 1024, 1024), Metric::Time, Check::Stdout,
        "bzip2 -9 of N KiB of generated text"),
    ("gzip", Group::Programs, system("/usr/bin/gzip", "gzip"),
        &["-9", "-n", "-c", "{input}"],
        Input::Text, scale(20 * 1024, 1024), Metric::Time, Check::Stdout,
        "gzip -9 of N KiB of generated text"),
    ("sqlite3", Group::Programs, system("/usr/bin/sqlite3", "sqlite3"),
        &["{scratch}/bench.db", ".read {input}"],
        Input::SqlScript, scale(100_000, 10_000), Metric::Time, Check::Stdout,
        "sqlite3: N inserts, 3 indexes, joins, group-bys, update, delete"),
    ("python3", Group::Programs, system("/usr/bin/python3", "python3"),
        &["{scripts}/bench.py", "{n}"],
        Input::None, scale(150, 3), Metric::Time, Check::Stdout,
        "scripts/bench.py: N rounds of queens, dicts, sorting, objects"),
    ("lua5.4", Group::Programs, system("/usr/bin/lua5.4", "lua5.4"),
        &["{scripts}/bench.lua", "{n}"],
        Input::None, scale(150, 3), Metric::Time, Check::Stdout,
        "scripts/bench.lua: N rounds of queens, tables, sorting, objects"),
    ("gcc-O2", Group::Programs, Program::GccCc1,
        &["-quiet", "-O2", "{input}", "-o", "/dev/stdout"],
        Input::CSource, scale(300, 12), Metric::Time, Check::Stdout,
        "cc1 -O2 of a generated C file of N functions"),
    ("openssl-sha256", Group::Programs, system("/usr/bin/openssl", "openssl"),
        &["speed", "-mr", "-seconds", "{n}", "-bytes", "16384", "sha256"],
        Input::None, scale(3, 1), Metric::Rate { unit: "MB/s", parse: parse_openssl_rate }, Check::Status,
        "openssl speed sha256 on 16 KiB blocks for N s"),
    ("7z-b", Group::Programs, system("/usr/lib/p7zip/7z", "p7zip-full"),
        &["b", "{n}", "-mmt1", "-md18"],
        Input::None, full_only(1, 1), Metric::Rate { unit: "MIPS", parse: parse_7z_rate }, Check::Status,
        "7-Zip LZMA benchmark, 1 thread, N passes"),
    // Multithreaded.
    ("xz-T2", Group::Threads, system("/usr/bin/xz", "xz-utils"),
        &["-T2", "-6", "--block-size=256KiB", "-c", "{input}"],
        Input::Text, scale(4 * 1024, 512), Metric::Time, Check::Stdout,
        "xz -6 with 2 threads (256 KiB blocks) of N KiB of text"),
    ("zstd-T2", Group::Threads, system("/usr/bin/zstd", "zstd"),
        &["-q", "-T2", "-12", "-B512KiB", "-c", "{input}"],
        Input::Text, scale(16 * 1024, 1024), Metric::Time, Check::Stdout,
        "zstd -12 with 2 threads (512 KiB jobs) of N KiB of text"),
    ("pthread", Group::Threads, kernel_dyn("mt_pthread.c"),
        &["{n}"],
        Input::None, scale(8_000_000, 200_000), Metric::Time, Check::Stdout,
        "2 pthreads counting primes below N"),
    ("pthread-1t", Group::Threads, kernel_dyn("mt_pthread.c"),
        &["{n}", "1"],
        Input::None, scale(8_000_000, 200_000), Metric::Time, Check::Stdout,
        "the same work as `pthread` on 1 thread (the report's parallel speedup)"),
    ("sysbench-threads", Group::Threads, system("/usr/bin/sysbench", "sysbench"),
        &["threads", "--threads=2", "--events={n}", "--time=0", "run"],
        Input::None, scale(1000, 40), Metric::Time, Check::Status,
        "sysbench threads: 2 threads, N events of lock/yield"),
    ("sysbench-mutex", Group::Threads, system("/usr/bin/sysbench", "sysbench"),
        &["mutex", "--threads=2", "--mutex-locks={n}", "run"],
        Input::None, scale(300_000, 2_000), Metric::Time, Check::Status,
        "sysbench mutex: 2 threads, N lock loops each"),
    // Syscall- and signal-heavy.
    ("pipe-pingpong", Group::Syscalls, kernel_dyn("sys_pipe.c"),
        &["{n}"],
        Input::None, scale(300_000, 5_000), Metric::Time, Check::Stdout,
        "two threads, N one-byte round trips over pipes"),
    ("sigalrm-1ms", Group::Syscalls, kernel_dyn("sys_alarm.c"),
        &["{n}"],
        Input::None, scale(2_000, 20), Metric::Time, Check::Stdout,
        "N M steps of integer work under a 1 ms SIGALRM timer"),
    ("signal-roundtrip", Group::Syscalls, kernel_dyn("sys_signal.c"),
        &["{n}"],
        Input::None, scale(800_000, 10_000), Metric::Time, Check::Stdout,
        "N x kill(self, SIGUSR1) handled"),
    ("signal-pingpong", Group::Syscalls, kernel_dyn("sys_sigpingpong.c"),
        &["{n}"],
        Input::None, scale(50_000, 2_000), Metric::Time, Check::Stdout,
        "two threads, N tgkill SIGUSR1 round trips, each handled in sigsuspend"),
    ("signal-latency", Group::Syscalls, kernel_dyn("sys_siglatency.c"),
        &["{n}"],
        Input::None, scale(50_000, 1_000), Metric::Time, Check::Status,
        "N x tgkill SIGUSR1 to a thread blocked in read, waiting for its handler; prints median and p99 latency"),
    ("futex-pingpong", Group::Syscalls, kernel_dyn("sys_futex.c"),
        &["{n}"],
        Input::None, scale(400_000, 5_000), Metric::Time, Check::Stdout,
        "two threads, N futex wait/wake round trips"),
    ("thread-create", Group::Syscalls, kernel_dyn("sys_thread.c"),
        &["{n}"],
        Input::None, scale(80_000, 1_000), Metric::Time, Check::Stdout,
        "N x pthread_create + pthread_join"),
    ("stress-ng-signal", Group::Syscalls, system("/usr/bin/stress-ng", "stress-ng"),
        &["--signal", "1", "--signal-ops", "{n}", "-q", "--temp-path", "{scratch}"],
        Input::None, scale(500_000, 5_000), Metric::Time, Check::Status,
        "stress-ng signal stressor, N ops"),
    ("stress-ng-sigq", Group::Syscalls, system("/usr/bin/stress-ng", "stress-ng"),
        &["--sigq", "1", "--sigq-ops", "{n}", "-q", "--temp-path", "{scratch}"],
        Input::None, scale(800_000, 5_000), Metric::Time, Check::Status,
        "stress-ng sigqueue stressor, N ops"),
    ("stress-ng-sigsegv", Group::Syscalls, system("/usr/bin/stress-ng", "stress-ng"),
        &["--sigsegv", "1", "--sigsegv-ops", "{n}", "-q", "--temp-path", "{scratch}"],
        Input::None, scale(500_000, 5_000), Metric::Time, Check::Status,
        "stress-ng SIGSEGV handling stressor, N ops"),
    // CPUID-dispatched SIMD code.
    ("strmem-static", Group::Simd, kernel_linked("str_mem.c", Link::Static),
        &["{n}"],
        Input::None, scale(20_000, 2_000), Metric::Time, Check::Stdout,
        "memcpy/strlen/memchr/memcmp of generated lines, N passes (glibc's IFUNC variants)"),
    ("strmem-dyn", Group::Simd, kernel_linked("str_mem.c", Link::Dynamic),
        &["{n}"],
        Input::None, scale(20_000, 2_000), Metric::Time, Check::Stdout,
        "the same, dynamically linked (libc.so's IFUNC variants)"),
    ("numpy", Group::Simd, system("/usr/bin/python3", "python3-numpy"),
        &["{scripts}/bench_numpy.py", "{n}"],
        Input::None, scale(40, 3), Metric::Time, Check::Stdout,
        "scripts/bench_numpy.py: N rounds of ufuncs, sorts, matmul, FFT on 1M-element arrays"),
    // Start-up.
    ("true", Group::Startup, system("/bin/true", "coreutils"),
        &[],
        Input::None, scale(100, 5), Metric::PerStart, Check::Stdout,
        "/bin/true, started N times"),
    ("python3-startup", Group::Startup, system("/usr/bin/python3", "python3"),
        &["-c", "pass"],
        Input::None, scale(30, 2), Metric::PerStart, Check::Stdout,
        "python3 -c pass, started N times"),
    // Multithreaded runtimes: a JVM starts about 20 threads, node 7; each
    // ends with them running (tern parks them, then writes its cache).
    ("java-startup", Group::Startup, system("/usr/bin/java", "default-jre-headless"),
        &["-version"],
        Input::None, scale(10, 2), Metric::PerStart, Check::Status,
        "java -version, started N times"),
    ("node-startup", Group::Startup, system("/usr/bin/node", "nodejs"),
        &["-e", "0"],
        Input::None, scale(10, 2), Metric::PerStart, Check::Status,
        "node -e 0, started N times"),
    // Exec-heavy: qemu-x86_64 runs only the shell (without binfmt_misc it
    // does not follow execve), tern and valgrind the whole tree.
    ("configure-sh", Group::Startup, system("/bin/sh", "dash"),
        &["{scripts}/configure.sh", "{n}", "{scratch}"],
        Input::None, scale(150, 40), Metric::Time, Check::Stdout,
        "a ./configure-like shell script: N checks of about 7 short processes each"),
];

/// The whole table, in report order: kernels (static, dynamic, then the
/// `-march=native` ceiling where there is one), then the rest.
pub fn all() -> Vec<Workload> {
    let kernels = CPU_KERNELS.iter().flat_map(|kn| {
        let pair = [Link::Static, Link::Dynamic].map(|link| Workload {
            name: format!("{}-{}", kn.name, link.tag()),
            group: kn.group,
            about: kn.about,
            program: Program::Kernel { src: kn.src, link, march: March::Default },
            args: &["{n}"],
            input: Input::None,
            // Quick mode runs the dynamic builds only for the first kernel of
            // each group: the hot loops are the same code.
            scale: Scale {
                full: kn.full,
                quick: kn.quick,
                in_quick: link == Link::Static || is_first_of_group(kn),
            },
            metric: Metric::Time,
            check: Check::Stdout,
        });
        let ceiling = NATIVE_CEILINGS.contains(&kn.name).then(|| Workload {
            name: format!("{}{}", kn.name, March::Native.tag()),
            group: kn.group,
            about: kn.about,
            program: Program::Kernel { src: kn.src, link: Link::Static, march: March::Native },
            args: &["{n}"],
            input: Input::None,
            scale: Scale { full: kn.full, quick: kn.quick, in_quick: true },
            metric: Metric::Time,
            check: Check::Stdout,
        });
        pair.into_iter().chain(ceiling)
    });
    // The same kernels for x86-64-v3, static only (the loops are the
    // kernel's own code); quick mode keeps the first of each group.
    let v3 = CPU_KERNELS.iter().map(|kn| Workload {
        name: format!("{}{}", kn.name, March::V3.tag()),
        group: Group::V3,
        about: kn.about,
        program: Program::Kernel { src: kn.src, link: Link::Static, march: March::V3 },
        args: &["{n}"],
        input: Input::None,
        scale: Scale { full: kn.full, quick: kn.quick, in_quick: is_first_of_group(kn) },
        metric: Metric::Time,
        check: Check::Stdout,
    });
    let others = OTHERS.iter().map(|&(name, group, program, args, input, scale, metric, check, about)| {
        Workload { name: name.to_string(), group, about, program, args, input, scale, metric, check }
    });
    let mut all: Vec<Workload> = kernels.chain(others).chain(v3).collect();
    all.sort_by_key(|w| w.group);
    all
}

/// The kernels with a `-march=native` ceiling: (`NAME-static`, `NAME-native`).
pub fn native_ceilings() -> Vec<(String, String)> {
    NATIVE_CEILINGS.iter().map(|k| (format!("{k}-static"), format!("{k}{}", March::Native.tag()))).collect()
}

fn is_first_of_group(kn: &Kernel) -> bool {
    CPU_KERNELS.iter().find(|o| o.group == kn.group).is_some_and(|o| o.name == kn.name)
}

/// Selects workloads by name or group name (all of the mode's when
/// `names` is empty). Unknown names are an error listing the valid ones.
pub fn select(names: &[String], quick: bool) -> Result<Vec<Workload>, String> {
    let all = all();
    if names.is_empty() {
        return Ok(all.into_iter().filter(|w| !quick || w.in_quick()).collect());
    }
    let mut picked: Vec<Workload> = Vec::new();
    for name in names {
        let matches: Vec<&Workload> =
            all.iter().filter(|w| w.name == *name || w.group.name() == name).collect();
        if matches.is_empty() {
            let valid: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
            let groups: Vec<&str> = Group::ALL.iter().map(|g| g.name()).collect();
            return Err(format!(
                "unknown workload `{name}`; workloads: {}; groups: {}",
                valid.join(", "),
                groups.join(", ")
            ));
        }
        for w in matches {
            // A group named in quick mode keeps to the quick subset; a workload
            // named explicitly always runs.
            let explicit = w.name == *name;
            if (explicit || !quick || w.in_quick()) && !picked.iter().any(|p| p.name == w.name) {
                picked.push(w.clone());
            }
        }
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let all = all();
        let mut names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn select_by_group_and_name() {
        let int = select(&["int".into()], false).unwrap();
        assert!(int.iter().all(|w| w.group == Group::Int));
        assert_eq!(int.len(), 10);
        let one = select(&["7z-b".into()], true).unwrap();
        assert_eq!(one.len(), 1);
        assert!(select(&["nope".into()], false).is_err());
        let v3 = select(&["v3".into()], false).unwrap();
        assert_eq!(v3.len(), 9);
        assert!(v3.iter().all(|w| matches!(w.program, Program::Kernel { march: March::V3, .. })));
    }

    #[test]
    fn calls_kernel_and_native_ceilings() {
        let all = all();
        let names: Vec<&str> = all.iter().map(|w| w.name.as_str()).collect();
        for name in ["calls-static", "calls-dyn", "calls-v3"] {
            assert!(names.contains(&name), "{name} missing");
        }
        let calls = all.iter().find(|w| w.name == "calls-static").unwrap();
        assert_eq!(calls.group, Group::Int);
        assert!(calls.in_quick());
        // Each ceiling is a known kernel, static, -march=native, in the
        // kernel's group right after its dynamic build, and in quick mode.
        for base in NATIVE_CEILINGS {
            let kn = CPU_KERNELS.iter().find(|k| k.name == *base).expect("ceiling of an unknown kernel");
            let at = names.iter().position(|n| *n == format!("{base}-native")).unwrap();
            assert_eq!(names[at - 1], format!("{base}-dyn"));
            let w = &all[at];
            assert_eq!(w.group, kn.group);
            assert!(w.in_quick());
            assert_eq!(w.program, Program::Kernel { src: kn.src, link: Link::Static, march: March::Native });
        }
        let natives =
            all.iter().filter(|w| matches!(w.program, Program::Kernel { march: March::Native, .. }));
        assert_eq!(natives.count(), NATIVE_CEILINGS.len());
        let fp_quick = select(&["fp".into()], true).unwrap();
        let fp_names: Vec<&str> = fp_quick.iter().map(|w| w.name.as_str()).collect();
        assert!(fp_names.contains(&"matmul-native") && fp_names.contains(&"spectral-native"));
    }

    #[test]
    fn rate_parsers() {
        let ssl = "+DT:sha256:1:16384\n+R:53182:sha256:0.56\n+H:16384\n+F:6:sha256:1555953371.43\n";
        assert_eq!(parse_openssl_rate(ssl), Some(1555.95337143));
        let sz = "Avr:      5438    77   6286   4845  |      36486\nTot:              75   5181   3898\n";
        assert_eq!(parse_7z_rate(sz), Some(3898.0));
    }
}
