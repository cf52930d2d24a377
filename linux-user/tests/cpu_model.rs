//! Faults and the CPU models: instructions that raise signals end the guest
//! exactly as natively (compared with the native run), and an instruction
//! outside tern's CPU model raises SIGILL with its bytes logged once, as on a
//! CPU without it (checked against a fixed expectation, since the host has
//! the extension). CPUID, XGETBV, AT_HWCAP/AT_HWCAP2 and `/proc/cpuinfo`
//! agree with each other for every model, and with the host for the rows a
//! model has (the host here has every feature of x86-64-v4).

use std::path::Path;
use tern_tests::{differential, run_native, Build, ExitStatusDesc};
use tern_translate::model::{CpuModel, FEATURES};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

#[test]
fn trapping_instructions_end_the_guest_as_natively() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    for b in Build::all(false) {
        for what in [
            "int3", "ud2", "hlt", "sysret", "rdmsr", "wrmsr", "rdpmc", "umip", "hints", "div", "divlong",
            "null", "abort", "long", "none",
        ] {
            differential(Path::new(TERN), "traps.c", &b, &[what], b"");
        }
    }
}

/// Writes a C source to a scratch directory and builds it.
fn build_source(name: &str, body: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tern-cpu-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(name);
    std::fs::write(&src, body).unwrap();
    let out = dir.join(name.trim_end_matches(".c"));
    let st = std::process::Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .unwrap_or_else(|e| panic!("cannot run gcc: {e}"));
    assert!(st.success());
    out
}

#[test]
fn instructions_outside_the_model_raise_sigill() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "avx.c",
        "#include <stdio.h>\nint main(void){ setvbuf(stdout,0,_IONBF,0); puts(\"start\");\n\
         __asm__ volatile(\"vxorps %%ymm0, %%ymm0, %%ymm0\" ::: \"xmm0\"); puts(\"after\"); return 0; }\n",
    );
    let out = under_cpu("x86-64-v2", &bin, &[]);
    assert_eq!(out.status, ExitStatusDesc::Signaled(libc::SIGILL), "{out:?}");
    assert_eq!(out.stdout, b"start\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("c5 fc 57 c0") && err.contains("AVX"), "{err}");
    // The baseline model has no SSE4.1: `ptest` is SIGILL there, fine in v2.
    let bin = build_source(
        "sse41.c",
        "#include <stdio.h>\nint main(void){ int z; __asm__ volatile(\"pxor %%xmm0,%%xmm0\\n\\tptest %%xmm0,%%xmm0\\n\\t\
         setz %b0\" : \"=q\"(z) :: \"xmm0\"); printf(\"%d\\n\", z & 1); return 0; }\n",
    );
    let v2 = std::process::Command::new(TERN).arg(&bin).output().unwrap();
    assert_eq!(v2.stdout, b"1\n");
    let v1 = std::process::Command::new(TERN).args(["--cpu", "x86-64"]).arg(&bin).output().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&v1.status), Some(libc::SIGILL));
    // `sysenter` under every model: SIGILL, said to be the 32-bit entry
    // (not a feature the model lacks: CPUID's SEP stays set).
    let bin = build_source(
        "sysenter.c",
        "#include <stdio.h>\nint main(void){ setvbuf(stdout,0,_IONBF,0); puts(\"start\");\n\
         __asm__ volatile(\"sysenter\"); puts(\"after\"); return 0; }\n",
    );
    let out = under_cpu("host", &bin, &[]);
    assert_eq!(out.status, ExitStatusDesc::Signaled(libc::SIGILL), "{out:?}");
    assert_eq!(out.stdout, b"start\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("0f 34") && err.contains("32-bit system call entry"), "{err}");
}

/// tern's warning about such an instruction goes to descriptor 2, which the
/// guest owns: replaced by an eventfd (writes fail with EINVAL), the warning
/// is dropped and the guest still gets its SIGILL (tern used to panic).
#[test]
fn warnings_to_a_replaced_stderr_are_dropped() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "avx_no_stderr.c",
        "#include <stdio.h>\n#include <sys/eventfd.h>\n#include <unistd.h>\nint main(void){ close(2);\n\
         printf(\"eventfd %d\\n\", eventfd(0, 0)); fflush(stdout);\n\
         __asm__ volatile(\"vxorps %%ymm1, %%ymm1, %%ymm1\" ::: \"xmm1\"); return 0; }\n",
    );
    let native = std::process::Command::new(&bin).output().unwrap();
    let under = std::process::Command::new(TERN).args(["--cpu", "x86-64-v2"]).arg(&bin).output().unwrap();
    assert_eq!(native.stdout, b"eventfd 2\n");
    assert_eq!(under.stdout, native.stdout);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(under.status.signal(), Some(libc::SIGILL), "{under:?}");
}

#[test]
fn cpuid_reports_the_model() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "cpuid.c",
        "#include <stdio.h>\nint main(void){ __builtin_cpu_init();\n\
         printf(\"sse2 %d sse4.2 %d popcnt %d avx %d avx2 %d bmi2 %d\\n\", !!__builtin_cpu_supports(\"sse2\"),\n\
         !!__builtin_cpu_supports(\"sse4.2\"), !!__builtin_cpu_supports(\"popcnt\"), !!__builtin_cpu_supports(\"avx\"),\n\
         !!__builtin_cpu_supports(\"avx2\"), !!__builtin_cpu_supports(\"bmi2\")); return 0; }\n",
    );
    let norm = |o: std::process::Output| String::from_utf8_lossy(&o.stdout).into_owned();
    let v2 = std::process::Command::new(TERN).args(["--cpu", "x86-64-v2"]).arg(&bin).output().unwrap();
    assert_eq!(norm(v2), "sse2 1 sse4.2 1 popcnt 1 avx 0 avx2 0 bmi2 0\n");
    let v3 = std::process::Command::new(TERN).args(["--cpu", "x86-64-v3"]).arg(&bin).output().unwrap();
    assert_eq!(norm(v3), "sse2 1 sse4.2 1 popcnt 1 avx 1 avx2 1 bmi2 1\n");
    let v1 = std::process::Command::new(TERN).args(["--cpu", "x86-64"]).arg(&bin).output().unwrap();
    assert_eq!(norm(v1), "sse2 1 sse4.2 0 popcnt 0 avx 0 avx2 0 bmi2 0\n");
}

/// What only describes the machine is the host's under every model: the
/// hypervisor bit and the hypervisor's leaves (a program asking whether it
/// runs in a virtual machine is told what it is told natively; they were
/// hidden), CPUID.1's `ss`, `pcid`, `x2apic`, `tsc_deadline_timer`
/// (glibc's AT_HWCAP differed by `ss`), the highest basic leaf and the
/// clock leaves 0x15 and 0x16 (it stopped at 0xD), and leaf 7's subleaf 2
/// (speculation controls). Compared with the native run.
#[test]
fn machine_description_is_the_hosts() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "cpuid_machine.c",
        "#include <stdio.h>\n#include <cpuid.h>\n#include <sys/auxv.h>\n\
         int main(void){ unsigned a, b, c, d; __cpuid(1, a, b, c, d);\n\
         printf(\"1: ecx %08x edx %08x\\n\", c & 0x81220000u, d & (1u << 27));\n\
         if (c >> 31) { __cpuid(0x40000000, a, b, c, d); printf(\"40000000: %08x %08x %08x %08x\\n\", a, b, c, d); }\n\
         unsigned max = __get_cpuid_max(0, 0); printf(\"max %x\\n\", max);\n\
         for (unsigned l = 0x15; l <= 0x16 && l <= max; l++) { __cpuid(l, a, b, c, d);\n\
           printf(\"%x: %08x %08x %08x\\n\", l, a, b, c); }\n\
         __cpuid_count(7, 0, a, b, c, d); if (a >= 2) { __cpuid_count(7, 2, a, b, c, d); printf(\"7.2: %08x\\n\", d); }\n\
         return 0; }\n",
    );
    let native = std::process::Command::new(&bin).output().unwrap();
    for cpu in ["x86-64", "host"] {
        let t = std::process::Command::new(TERN).args(["--cpu", cpu]).arg(&bin).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&t.stdout),
            String::from_utf8_lossy(&native.stdout),
            "--cpu {cpu}"
        );
    }
}

/// tern's own memory is not the guest's: reprotecting or mapping over all
/// of the address space fails as Linux fails for an unavailable range, and
/// tern keeps running (natively this program would destroy itself, so the
/// expectation is fixed, not native). Unmapping all of it unmaps the
/// guest's memory around tern's (a hole to the guest), and the guest dies
/// of SIGSEGV as natively, tern reporting no fault of its own.
#[test]
fn guest_cannot_unmap_or_overwrite_terns_memory() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "guard.c",
        "#include <errno.h>\n#include <stdio.h>\n#include <string.h>\n#include <sys/mman.h>\n\
         int main(int argc, char **argv){\n\
           void *lo = (void *)0x10000; size_t all = 0x7fff00000000ul - 0x10000;\n\
           int r;\n\
           if (argc > 1) { r = munmap(lo, all); printf(\"munmap %d\\n\", r); return 0; }\n\
           r = mprotect(lo, all, PROT_NONE); printf(\"mprotect %d %s\\n\", r, r ? strerror(errno) : \"\");\n\
           void *m = mmap(lo, all, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0);\n\
           printf(\"mmap fixed %s %s\\n\", m == MAP_FAILED ? \"failed\" : \"mapped\", m == MAP_FAILED ? strerror(errno) : \"\");\n\
           m = mmap(lo, all, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0);\n\
           printf(\"mmap noreplace %s %s\\n\", m == MAP_FAILED ? \"failed\" : \"mapped\", m == MAP_FAILED ? strerror(errno) : \"\");\n\
           puts(\"alive\"); return 0; }\n",
    );
    let out = std::process::Command::new(TERN).arg(&bin).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "mprotect -1 Cannot allocate memory\n\
         mmap fixed failed Cannot allocate memory\nmmap noreplace failed File exists\nalive\n"
    );
    assert!(out.status.success());
    use std::os::unix::process::ExitStatusExt;
    let native = std::process::Command::new(&bin).arg("unmap").output().unwrap();
    let tern = std::process::Command::new(TERN).arg(&bin).arg("unmap").output().unwrap();
    assert_eq!(native.status.signal(), Some(libc::SIGSEGV), "{native:?}");
    assert_eq!(tern.status.signal(), native.status.signal(), "{tern:?}");
    assert!(!String::from_utf8_lossy(&tern.stderr).contains("internal"), "{tern:?}");
}

/// Precise state at a fault inside code tern rewrote: an FS-relative load
/// (which borrows a scratch register) and a `ret` (which borrows rcx) fault,
/// and the guest registers tern reports (with `TERN_LOG=debug`) are the
/// values the program put there, with rip at the faulting instruction. When
/// guest signal handlers exist, `signal_*` programs check the same natively.
#[test]
fn faults_in_rewritten_code_keep_exact_guest_state() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "precise.c",
        "#include <stdio.h>\n#include <string.h>\n\
         int main(int argc, char **argv){ setvbuf(stdout,0,_IONBF,0);\n\
           extern char fault_fs[], fault_ret[];\n\
           printf(\"%p %p\\n\", (void *)fault_fs, (void *)fault_ret);\n\
           if (!strcmp(argv[1], \"fs\"))\n\
             __asm__ volatile(\"mov $0x1111,%%rax\\n mov $0x2222,%%rbx\\n mov $0x3333,%%rcx\\n mov $0x4444,%%rdx\\n\
               mov $0x5555,%%rsi\\n mov $0x6666,%%rdi\\n mov $0x8888,%%r8\\n mov $0x9999,%%r9\\n\
               mov $0x7fff00000000,%%r10\\n .globl fault_fs\\nfault_fs: mov %%fs:(%%r10),%%r11\" ::: \
               \"rax\",\"rbx\",\"rcx\",\"rdx\",\"rsi\",\"rdi\",\"r8\",\"r9\",\"r10\",\"r11\",\"memory\");\n\
           else\n\
             __asm__ volatile(\"mov $0xabcd,%%rcx\\n mov $0x10,%%rsp\\n .globl fault_ret\\nfault_ret: ret\" ::: \"rcx\",\"memory\");\n\
           return 0; }\n",
    );
    for (what, want) in [
        (
            "fs",
            vec![
                "rax=0x1111",
                "rbx=0x2222",
                "rcx=0x3333",
                "rdx=0x4444",
                "rsi=0x5555",
                "r8=0x8888",
                "r10=0x7fff00000000",
            ],
        ),
        ("ret", vec!["rcx=0xabcd", "rsp=0x10"]),
    ] {
        let out =
            std::process::Command::new(TERN).env("TERN_LOG", "debug").arg(&bin).arg(what).output().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&out.status), Some(libc::SIGSEGV));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let addrs: Vec<&str> = stdout.split_whitespace().collect();
        let at = if what == "fs" { addrs[0] } else { addrs[1] };
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err.lines().find(|l| l.contains("guest fault")).unwrap_or_else(|| panic!("{err}"));
        assert!(line.contains(&format!("at rip {at} ")), "{what}: want rip {at}: {line}");
        for w in want {
            assert!(line.contains(&format!("{w} ")) || line.ends_with(w), "{what}: want {w}: {line}");
        }
    }
}

#[test]
fn proc_cpuinfo_flags_follow_the_model() {
    let flags = |args: &[&str]| {
        let out = std::process::Command::new(TERN)
            .args(args)
            .args(["/bin/grep", "-m1", "^flags", "/proc/cpuinfo"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let v2 = flags(&["--cpu", "x86-64-v2"]);
    assert!(v2.contains(" sse4_2") && v2.contains(" sse2"), "{v2}");
    assert!(!v2.contains(" avx") && !v2.contains(" bmi1"), "{v2}");
    let v1 = flags(&["--cpu", "x86-64"]);
    assert!(v1.contains(" sse2") && !v1.contains(" sse4_2") && !v1.contains(" popcnt"), "{v1}");
    // UMIP is the host kernel's emulation of `sgdt` and the like, which
    // the guest gets under every model (LTP `umip_basic_test` reads it).
    let has = |line: &str, flag: &str| line.split_whitespace().any(|f| f == flag);
    let host = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let host_flags = host.lines().find(|l| l.starts_with("flags")).unwrap_or_default();
    assert_eq!(has(&v1, "umip"), has(host_flags, "umip"), "{v1}");
}

/// Linux's names for the bits of the CPUID registers tern answers
/// (`arch/x86/include/asm/cpufeatures.h`); "" for a bit Linux does not
/// list. Written out here, not taken from tern's table, so that the test
/// checks the table.
const LEAF1_EDX: [&str; 32] = [
    "fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "", "sep", "mtrr", "pge", "mca",
    "cmov", "pat", "pse36", "pn", "clflush", "", "dts", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "ht",
    "tm", "ia64", "pbe",
];
const LEAF1_ECX: [&str; 32] = [
    "pni",
    "pclmulqdq",
    "dtes64",
    "monitor",
    "ds_cpl",
    "vmx",
    "smx",
    "est",
    "tm2",
    "ssse3",
    "cid",
    "sdbg",
    "fma",
    "cx16",
    "xtpr",
    "pdcm",
    "",
    "pcid",
    "dca",
    "sse4_1",
    "sse4_2",
    "x2apic",
    "movbe",
    "popcnt",
    "tsc_deadline_timer",
    "aes",
    "xsave",
    "",
    "avx",
    "f16c",
    "rdrand",
    "hypervisor",
];
const LEAF7_EBX: [&str; 32] = [
    "fsgsbase",
    "tsc_adjust",
    "sgx",
    "bmi1",
    "hle",
    "avx2",
    "",
    "smep",
    "bmi2",
    "erms",
    "invpcid",
    "rtm",
    "cqm",
    "",
    "mpx",
    "rdt_a",
    "avx512f",
    "avx512dq",
    "rdseed",
    "adx",
    "smap",
    "avx512ifma",
    "",
    "clflushopt",
    "clwb",
    "intel_pt",
    "avx512pf",
    "avx512er",
    "avx512cd",
    "sha_ni",
    "avx512bw",
    "avx512vl",
];
const LEAF7_ECX: [&str; 32] = [
    "",
    "avx512vbmi",
    "umip",
    "pku",
    "ospke",
    "waitpkg",
    "avx512_vbmi2",
    "",
    "gfni",
    "vaes",
    "vpclmulqdq",
    "avx512_vnni",
    "avx512_bitalg",
    "tme",
    "avx512_vpopcntdq",
    "",
    "la57",
    "",
    "",
    "",
    "",
    "",
    "rdpid",
    "",
    "bus_lock_detect",
    "cldemote",
    "",
    "movdiri",
    "movdir64b",
    "enqcmd",
    "sgx_lc",
    "",
];
const LEAF7_EDX: [&str; 32] = [
    "",
    "",
    "avx512_4vnniw",
    "avx512_4fmaps",
    "fsrm",
    "",
    "",
    "",
    "avx512_vp2intersect",
    "",
    "md_clear",
    "",
    "",
    "",
    "serialize",
    "",
    "tsxldtrk",
    "",
    "pconfig",
    "arch_lbr",
    "ibt",
    "",
    "amx_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_int8",
    "",
    "",
    "flush_l1d",
    "arch_capabilities",
    "",
    "",
];
const LEAF7_1_EAX: [&str; 32] = [
    "",
    "",
    "",
    "",
    "avx_vnni",
    "avx512_bf16",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
];
const LEAFD_1_EAX: [&str; 32] = [
    "xsaveopt", "xsavec", "xgetbv1", "xsaves", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
    "", "", "", "", "", "", "", "", "", "", "", "", "",
];
const EXT1_EDX: [&str; 32] = [
    "", "", "", "", "", "", "", "", "", "", "", "syscall", "", "", "", "", "", "", "", "mp", "nx", "",
    "mmxext", "", "", "fxsr_opt", "pdpe1gb", "rdtscp", "", "lm", "3dnowext", "3dnow",
];
const EXT1_ECX: [&str; 32] = [
    "lahf_lm",
    "cmp_legacy",
    "svm",
    "extapic",
    "cr8_legacy",
    "abm",
    "sse4a",
    "misalignsse",
    "3dnowprefetch",
    "osvw",
    "ibs",
    "xop",
    "skinit",
    "wdt",
    "",
    "lwp",
    "fma4",
    "tce",
    "",
    "nodeid_msr",
    "",
    "tbm",
    "topoext",
    "perfctr_core",
    "perfctr_nb",
    "",
    "bpext",
    "ptsc",
    "perfctr_llc",
    "mwaitx",
    "",
    "",
];
/// CPUID.8000_0008:EBX's instructions and descriptions; the speculation
/// controls after them, which tern leaves the host's and the kernel lists
/// under names of its own (`ibpb`, `ssbd`, ...), are left unnamed.
const EXT8_EBX: [&str; 32] = [
    "clzero",
    "irperf",
    "xsaveerptr",
    "",
    "rdpru",
    "",
    "",
    "",
    "",
    "wbnoinvd",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
];
/// Flags Linux defines itself (no CPUID bit of the leaves above), and
/// `arat`, a bit of leaf 6, which tern answers with the host's.
const LINUX_DEFINED: &[&str] = &[
    "arat",
    "constant_tsc",
    "rep_good",
    "nopl",
    "xtopology",
    "tsc_reliable",
    "nonstop_tsc",
    "cpuid",
    "extd_apicid",
    "ssbd",
    "ibrs",
    "ibpb",
    "stibp",
    "vmmcall",
    "aperfmperf",
    "tsc_known_freq",
    "art",
    "arch_perfmon",
    "pebs",
    "bts",
    "nonstop_tsc_s3",
];

/// One CPUID register as seen: (name, leaf, subleaf, register index, bit
/// names, value).
type SeenReg = (&'static str, u32, u32, usize, &'static [&'static str; 32], u32);

/// What a guest sees of its CPU under tern, parsed from the output of
/// `cpuid_flags.c`: CPUID registers, AT_HWCAP, the `/proc/cpuinfo` flags.
struct SeenCpu {
    regs: Vec<SeenReg>,
    hwcap: u64,
    hwcap2: u64,
    leaf1_edx: u32,
    flags: Vec<String>,
}

/// What `bin` (built from `cpuid_flags.c`) shows under `--cpu cpu`, or
/// natively for `None`.
fn seen_cpu(bin: &Path, cpu: Option<&str>) -> SeenCpu {
    let out = match cpu {
        Some(cpu) => std::process::Command::new(TERN).args(["--cpu", cpu]).arg(bin).output().unwrap(),
        None => std::process::Command::new(bin).output().unwrap(),
    };
    assert!(out.status.success(), "{cpu:?}: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| -> String {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}: {text}"));
        line[name.len()..].trim().to_string()
    };
    let hex = |name: &str| u64::from_str_radix(&field(name), 16).unwrap_or_else(|e| panic!("{name}: {e}"));
    let reg = |name: &str| u32::try_from(hex(name)).expect("32-bit register");
    SeenCpu {
        regs: vec![
            ("1.edx", 1, 0, 3, &LEAF1_EDX, reg("leaf1.edx")),
            ("1.ecx", 1, 0, 2, &LEAF1_ECX, reg("leaf1.ecx")),
            ("7.ebx", 7, 0, 1, &LEAF7_EBX, reg("leaf7.ebx")),
            ("7.ecx", 7, 0, 2, &LEAF7_ECX, reg("leaf7.ecx")),
            ("7.edx", 7, 0, 3, &LEAF7_EDX, reg("leaf7.edx")),
            ("7.1.eax", 7, 1, 0, &LEAF7_1_EAX, reg("leaf7.1.eax")),
            ("0xd.1.eax", 0xd, 1, 0, &LEAFD_1_EAX, reg("leafd.1.eax")),
            ("0x80000001.edx", 0x8000_0001, 0, 3, &EXT1_EDX, reg("ext1.edx")),
            ("0x80000001.ecx", 0x8000_0001, 0, 2, &EXT1_ECX, reg("ext1.ecx")),
            ("0x80000008.ebx", 0x8000_0008, 0, 1, &EXT8_EBX, reg("ext8.ebx")),
        ],
        hwcap: hex("hwcap"),
        hwcap2: hex("hwcap2"),
        leaf1_edx: reg("leaf1.edx"),
        flags: field("flags").split_whitespace().map(String::from).collect(),
    }
}

/// One table makes CPUID, AT_HWCAP and `/proc/cpuinfo` agree: under tern,
/// for every CPU model, each flag in the guest's cpuinfo is a bit its
/// CPUID reports (or a flag Linux defines itself), each reported bit that
/// Linux names is in the flags, and AT_HWCAP is CPUID.1:EDX, as a kernel
/// would show them. (tern used to list `vme`, `pae`, `apic`, `ht`,
/// `hypervisor` and others that its CPUID leaf 1 did not report.)
#[test]
fn cpuid_hwcap_and_cpuinfo_agree_for_every_model() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "cpuid_flags.c",
        "#include <cpuid.h>\n#include <stdio.h>\n#include <string.h>\n\
         #include <elf.h>\n\
         int main(int argc, char **argv, char **envp){ unsigned a, b, c, d;\n\
           __cpuid_count(1, 0, a, b, c, d); printf(\"leaf1.ecx %x\\nleaf1.edx %x\\n\", c, d);\n\
           __cpuid_count(7, 0, a, b, c, d); printf(\"leaf7.ebx %x\\nleaf7.ecx %x\\nleaf7.edx %x\\n\", b, c, d);\n\
           __cpuid_count(7, 1, a, b, c, d); printf(\"leaf7.1.eax %x\\n\", a);\n\
           __cpuid_count(0xd, 1, a, b, c, d); printf(\"leafd.1.eax %x\\n\", a);\n\
           __cpuid_count(0x80000001, 0, a, b, c, d); printf(\"ext1.ecx %x\\next1.edx %x\\n\", c, d);\n\
           __cpuid_count(0x80000000, 0, a, b, c, d);\n\
           if (a >= 0x80000008) __cpuid_count(0x80000008, 0, a, b, c, d); else b = 0;\n\
           printf(\"ext8.ebx %x\\n\", b);\n\
           /* The auxv as the kernel passed it: glibc's getauxval(AT_HWCAP) is its own. */\n\
           while (*envp) envp++;\n\
           for (Elf64_auxv_t *v = (Elf64_auxv_t *)(envp + 1); v->a_type != AT_NULL; v++)\n\
             if (v->a_type == AT_HWCAP || v->a_type == AT_HWCAP2)\n\
               printf(\"hwcap%s %lx\\n\", v->a_type == AT_HWCAP ? \"\" : \"2\", (unsigned long)v->a_un.a_val);\n\
           FILE *f = fopen(\"/proc/cpuinfo\", \"r\"); char line[8192];\n\
           while (f && fgets(line, sizeof line, f))\n\
             if (!strncmp(line, \"flags\", 5)) { printf(\"flags %s\", strchr(line, ':') + 1); break; }\n\
           return 0; }\n",
    );
    let native = seen_cpu(&bin, None);
    let native_has = |flag: &str| native.flags.iter().any(|f| f == flag);
    for &m in CpuModel::ALL.iter().filter(|&&m| runs_here(m)) {
        let cpu = m.name();
        let seen = seen_cpu(&bin, Some(cpu));
        assert_eq!(seen.hwcap, u64::from(seen.leaf1_edx), "{cpu}: AT_HWCAP is not CPUID.1:EDX");
        // HWCAP2_FSGSBASE with the fsgsbase bit, nothing else.
        assert_eq!(seen.hwcap2, u64::from(seen.regs[2].5 & 1) << 1, "{cpu}: AT_HWCAP2");
        // The model's rows equal the host's bits (the host has all of the
        // model), and no bit outside them is reported.
        for (i, (reg, leaf, sub, r, _, value)) in seen.regs.iter().enumerate() {
            let rows: u32 = m
                .features()
                .filter_map(|f| f.cpuid)
                .filter(|b| (b.leaf, b.subleaf, b.reg as usize) == (*leaf, *sub, *r))
                .fold(0, |acc, b| acc | 1 << b.bit);
            let all: u32 = FEATURES
                .iter()
                .filter_map(|f| f.cpuid)
                .filter(|b| (b.leaf, b.subleaf, b.reg as usize) == (*leaf, *sub, *r))
                .fold(0, |acc, b| acc | 1 << b.bit);
            // 0x8000_0008.EBX holds the host's speculation controls beside
            // the table's bits.
            let checked = if *leaf == 0x8000_0008 { all } else { u32::MAX };
            assert_eq!(value & checked & !rows, 0, "{cpu}: CPUID {reg} has bits outside the model");
            assert_eq!(value & all, native.regs[i].5 & rows, "{cpu}: CPUID {reg} differs from the host's");
        }
        let mut named = Vec::new();
        for (reg, _, _, _, names, value) in &seen.regs {
            for (bit, name) in names.iter().enumerate() {
                if value & (1 << bit) != 0 && !name.is_empty() {
                    assert!(
                        seen.flags.iter().any(|f| f == name),
                        "{cpu}: CPUID {reg} bit {bit} ({name}) not in cpuinfo"
                    );
                }
                named.push((*name, *reg, value & (1 << bit) != 0));
            }
        }
        for flag in &seen.flags {
            match named.iter().find(|(n, _, _)| n == flag) {
                Some((_, reg, set)) => {
                    assert!(set, "{cpu}: cpuinfo lists {flag} but CPUID {reg} does not report it")
                }
                None => assert!(
                    LINUX_DEFINED.contains(&flag.as_str()),
                    "{cpu}: cpuinfo lists {flag}, not a CPUID bit tern answers"
                ),
            }
        }
        let has = |flag: &str| seen.flags.iter().any(|f| f == flag);
        // A level's flags from that level on; `host` has the host's.
        let level = |min: CpuModel, flag: &str| if m == CpuModel::Host { native_has(flag) } else { m >= min };
        assert!(has("sse2"), "{cpu}: {:?}", seen.flags);
        assert_eq!(has("sse4_2"), level(CpuModel::V2, "sse4_2"), "{cpu}: {:?}", seen.flags);
        for flag in ["avx2", "fma", "abm"] {
            assert_eq!(has(flag), level(CpuModel::V3, flag), "{cpu}: {:?}", seen.flags);
        }
        assert_eq!(has("avx512bw"), level(CpuModel::V4, "avx512bw"), "{cpu}: {:?}", seen.flags);
        assert_eq!(has("gfni"), m == CpuModel::Host && native_has("gfni"), "{cpu}: {:?}", seen.flags);
    }
}

/// Runs `bin` under tern with `--cpu cpu`.
fn under_cpu(cpu: &str, bin: &Path, args: &[&str]) -> tern_tests::Outcome {
    let mut cmd = std::process::Command::new(TERN);
    cmd.args(["--cpu", cpu]).arg(bin).args(args);
    tern_tests::run_command(cmd, b"", &[], tern_tests::timeout())
}

/// Whether model `m` can run on this host. One it cannot (x86-64-v4
/// without AVX-512) is refused at start with the features it lacks, which
/// this checks; the caller then skips it, and says so.
fn runs_here(m: CpuModel) -> bool {
    let missing = m.missing_on_host();
    if missing.is_empty() {
        return true;
    }
    let out = std::process::Command::new(TERN).args(["--cpu", m.name(), "/bin/true"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}: {out:?}", m.name());
    assert!(err.contains("needs what this host lacks") && err.contains(&missing[0]), "{}: {err}", m.name());
    eprintln!("{}: not run, this host lacks {}", m.name(), missing.join(", "));
    false
}

/// A program built for x86-64-v3 (FMA, AVX2, BMI2, LZCNT, MOVBE) runs
/// under `--cpu x86-64-v3` as natively, and under `--cpu x86-64-v2` gets
/// SIGILL at its first AVX2 instruction, with the bytes logged. An AVX-512
/// instruction is SIGILL under v3 and runs under v4. Without LZCNT (v2),
/// `lzcnt` is `rep bsr`, as on a CPU without it.
#[test]
fn v3_and_v4_programs_follow_the_model() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "v3.c",
        "#include <stdio.h>\n#include <string.h>\n\
         int main(int argc, char **argv){ setvbuf(stdout,0,_IONBF,0); puts(\"start\");\n\
           if (argc > 1 && !strcmp(argv[1], \"lzcnt\")) { unsigned r, v = 1;\n\
             __asm__ volatile(\"lzcnt %1, %0\" : \"=r\"(r) : \"r\"(v)); printf(\"lzcnt %u\\n\", r); return 0; }\n\
           if (argc > 1 && !strcmp(argv[1], \"avx512\")) { int out[16];\n\
             __asm__ volatile(\"vpternlogd $0xff, %%zmm0, %%zmm0, %%zmm0\\n\\tvpaddd %%zmm0, %%zmm0, %%zmm0\\n\\t\
               vmovdqu32 %%zmm0, %0\\n\\tvzeroupper\" : \"=m\"(out) :: \"xmm0\");\n\
             printf(\"avx512 %d %d\\n\", out[0], out[15]); return 0; }\n\
           int x = 7, b[8]; float a[8] = {1,2,3,4,5,6,7,8}, m[8] = {.5,.5,.5,.5,2,2,2,2}, c[8] = {1,1,1,1,1,1,1,1};\n\
           __asm__ volatile(\"vmovd %1, %%xmm0\\n\\tvpbroadcastd %%xmm0, %%ymm0\\n\\tvmovdqu %%ymm0, %0\" : \"=m\"(b) : \"a\"(x) : \"xmm0\");\n\
           __asm__ volatile(\"vmovups %0, %%ymm0\\n\\tvmovups %1, %%ymm1\\n\\tvfmadd213ps %2, %%ymm1, %%ymm0\\n\\t\
             vmovups %%ymm0, %0\\n\\tvzeroupper\" : \"+m\"(a) : \"m\"(m), \"m\"(c) : \"xmm0\", \"xmm1\");\n\
           unsigned long s, v = 3, n = 5; unsigned w = 0x11223344, sw, lz;\n\
           __asm__ volatile(\"shlx %2, %1, %0\" : \"=r\"(s) : \"r\"(v), \"r\"(n));\n\
           __asm__ volatile(\"movbe %1, %0\" : \"=r\"(sw) : \"m\"(w));\n\
           __asm__ volatile(\"lzcnt %1, %0\" : \"=r\"(lz) : \"r\"(w));\n\
           printf(\"%d %d %g %g %lu %x %u\\n\", b[0], b[7], a[0], a[7], s, sw, lz); return 0; }\n",
    );
    let native = run_native(&bin, &[], b"", &[]);
    assert_eq!(String::from_utf8_lossy(&native.stdout), "start\n7 7 1.5 17 96 44332211 3\n");
    for m in [CpuModel::V3, CpuModel::V4, CpuModel::Host].into_iter().filter(|&m| runs_here(m)) {
        tern_tests::assert_same(m.name(), &native, &under_cpu(m.name(), &bin, &[]));
    }
    let v2 = under_cpu("x86-64-v2", &bin, &[]);
    assert_eq!(v2.status, ExitStatusDesc::Signaled(libc::SIGILL), "{v2:?}");
    assert_eq!(v2.stdout, b"start\n");
    let err = String::from_utf8_lossy(&v2.stderr);
    // vmovd xmm0, eax: the first instruction outside v2.
    assert!(err.contains("c5 f9 6e c0") && err.contains("AVX"), "{err}");
    // Without LZCNT, f3 0f bd is `bsr` (1 -> 0); with it, `lzcnt` (31).
    assert_eq!(under_cpu("x86-64-v2", &bin, &["lzcnt"]).stdout, b"start\nlzcnt 0\n");
    assert_eq!(under_cpu("x86-64-v3", &bin, &["lzcnt"]).stdout, b"start\nlzcnt 31\n");
    if runs_here(CpuModel::V4) {
        let native = run_native(&bin, &["avx512"], b"", &[]);
        assert_eq!(String::from_utf8_lossy(&native.stdout), "start\navx512 -2 -2\n");
        tern_tests::assert_same("avx512", &native, &under_cpu("x86-64-v4", &bin, &["avx512"]));
    }
    // Under v3 the AVX-512 instruction is SIGILL whatever the host has.
    let v3 = under_cpu("x86-64-v3", &bin, &["avx512"]);
    assert_eq!(v3.status, ExitStatusDesc::Signaled(libc::SIGILL), "{v3:?}");
    assert_eq!(v3.stdout, b"start\n");
    let err = String::from_utf8_lossy(&v3.stderr);
    assert!(err.contains("62 f3 7d 48 25 c0 ff") && err.contains("AVX512F"), "{err}");
}

/// `xgetbv` returns the model's XCR0 (not the host's; with PKRU where the
/// model has protection keys), XGETBV(1) the
/// components in use within it, and is SIGILL on models without XSAVE; an
/// XCR index that does not exist is a #GP (SIGSEGV, SI_KERNEL, trap 13 at
/// the instruction) as natively.
#[test]
fn xgetbv_reports_the_models_xcr0() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "xgetbv.c",
        "#define _GNU_SOURCE\n#include <signal.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <ucontext.h>\n\
         extern char bad_xgetbv[];\n\
         static void h(int s, siginfo_t *si, void *p){ ucontext_t *uc = p;\n\
           printf(\"signal %d code %d addr %p trapno %lld err %lld at %d\\n\", s, si->si_code, si->si_addr,\n\
             (long long)uc->uc_mcontext.gregs[REG_TRAPNO], (long long)uc->uc_mcontext.gregs[REG_ERR],\n\
             uc->uc_mcontext.gregs[REG_RIP] == (long long)bad_xgetbv); exit(0); }\n\
         int main(int argc, char **argv){ setvbuf(stdout,0,_IONBF,0); unsigned a, d; puts(\"start\");\n\
           __asm__ volatile(\"xgetbv\" : \"=a\"(a), \"=d\"(d) : \"c\"(0)); printf(\"xcr0 %x\\n\", a);\n\
           __asm__ volatile(\"xgetbv\" : \"=a\"(a), \"=d\"(d) : \"c\"(1)); printf(\"inuse %x\\n\", a);\n\
           struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO;\n\
           sigaction(SIGSEGV, &sa, 0);\n\
           __asm__ volatile(\".globl bad_xgetbv\\nbad_xgetbv: xgetbv\" : \"=a\"(a), \"=d\"(d) : \"c\"(2));\n\
           puts(\"no fault\"); return 0; }\n",
    );
    let native = run_native(&bin, &[], b"", &[]);
    let text = |o: &tern_tests::Outcome| String::from_utf8_lossy(&o.stdout).into_owned();
    let field = |t: &str, name: &str| {
        let l = t.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}: {t}"));
        u64::from_str_radix(&l[name.len() + 1..], 16).unwrap()
    };
    let fault = |t: &str| t.lines().find(|l| l.starts_with("signal")).map(String::from);
    let native_text = text(&native);
    assert_eq!(fault(&native_text).as_deref(), Some("signal 11 code 128 addr (nil) trapno 13 err 0 at 1"));
    for &m in CpuModel::ALL.iter().filter(|&&m| runs_here(m)) {
        let out = under_cpu(m.name(), &bin, &[]);
        let t = text(&out);
        if m < CpuModel::V3 {
            assert_eq!(out.status, ExitStatusDesc::Signaled(libc::SIGILL), "{m:?}: {out:?}");
            assert_eq!(t, "start\n");
            continue;
        }
        assert!(out.status == ExitStatusDesc::Exited(0), "{m:?}: {out:?}");
        assert_eq!(field(&t, "xcr0"), m.guest_xcr0(), "{m:?}: {t}");
        let inuse = field(&t, "inuse");
        assert_eq!(inuse & !m.guest_xcr0(), 0, "{m:?}: {t}");
        assert_eq!(fault(&t), fault(&native_text), "{m:?}");
        if m.guest_xcr0() == tern_translate::xstate::host_xcr0() {
            // The host's XCR0 is the model's: the same as natively.
            assert_eq!(field(&t, "xcr0"), field(&native_text, "xcr0"), "{m:?}");
        } else if m == CpuModel::Host {
            // The host's components but those tern does not switch (AMX's
            // tile state, which a process must ask for first).
            assert_eq!(field(&t, "xcr0"), field(&native_text, "xcr0") & m.guest_xcr0(), "{m:?}");
        }
    }
    assert_eq!(CpuModel::V3.xcr0(), 7);
}

/// arch_prctl's xstate queries (`ARCH_GET_XCOMP_SUPP`, `_PERM`,
/// `_GUEST_PERM`) give the model's XCR0, and a request for a component
/// is EOPNOTSUPP (only a dynamic component, AMX's tile data, can be asked
/// for, and no model has one) or EINVAL past the kernel's last component,
/// as natively (tern answered EINVAL to all: the kernel selftest `avx`
/// skipped everything).
#[test]
fn xcomp_prctls_report_the_models_xcr0() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "xcomp.c",
        "#include <errno.h>\n#include <stdio.h>\n#include <unistd.h>\n#include <sys/syscall.h>\n\
         static long q(int code, unsigned long *v){ return syscall(SYS_arch_prctl, code, v) ? -errno : 0; }\n\
         int main(void){ unsigned long s = 0, p = 0, g = 0;\n\
           long rs = q(0x1021, &s), rp = q(0x1022, &p), rg = q(0x1024, &g);\n\
           printf(\"supp %ld %lx\\nperm %ld %lx\\nguest %ld %lx\\n\", rs, s, rp, p, rg, g);\n\
           printf(\"fault %ld\\n\", q(0x1021, (unsigned long *)8));\n\
           int idx[] = {0, 1, 2, 3, 5, 6, 7, 9, 17, 19, 20, 63, 64};\n\
           for (unsigned i = 0; i < sizeof idx / sizeof *idx; i++)\n\
             printf(\"req %d %ld\\n\", idx[i], syscall(SYS_arch_prctl, 0x1023, idx[i]) ? -errno : 0L);\n\
           return 0; }\n",
    );
    let text = |o: &tern_tests::Outcome| String::from_utf8_lossy(&o.stdout).into_owned();
    let native = text(&run_native(&bin, &[], b"", &[]));
    let line = |t: &str, key: &str| {
        t.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{key}: {t}")).to_string()
    };
    assert!(line(&native, "supp").starts_with("supp 0 "), "native: {native}");
    assert_eq!(line(&native, "fault"), "fault -14", "native: {native}");
    // Requests for anything but a dynamic component (AMX's tile data, 18,
    // left out here) give the same answer on every CPU: the host's.
    let requests =
        |t: &str| t.lines().filter(|l| l.starts_with("req ")).map(String::from).collect::<Vec<_>>();
    assert_eq!(requests(&native).len(), 13, "native: {native}");
    for &m in CpuModel::ALL.iter().filter(|&&m| runs_here(m)) {
        let out = under_cpu(m.name(), &bin, &[]);
        assert!(out.status == ExitStatusDesc::Exited(0), "{m:?}: {out:?}");
        let t = text(&out);
        let xcr0 = m.guest_xcr0();
        for key in ["supp", "perm", "guest"] {
            assert_eq!(line(&t, key), format!("{key} 0 {xcr0:x}"), "{m:?}: {t}");
        }
        assert_eq!(line(&t, "fault"), "fault -14", "{m:?}");
        assert_eq!(requests(&t), requests(&native), "{m:?}");
    }
}

#[test]
fn host_model_and_bad_names() {
    let out = std::process::Command::new(TERN).args(["--cpu", "host", "/bin/true"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = std::process::Command::new(TERN).args(["--cpu", "x86-64-v5", "/bin/true"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown CPU model 'x86-64-v5'") && err.contains("x86-64-v4, host"), "{err}");
    // The default is `host`; the highest level the host has is below it.
    assert_eq!(CpuModel::default_for_host(), CpuModel::Host);
    let top =
        [CpuModel::V4, CpuModel::V3, CpuModel::V2, CpuModel::X86_64].into_iter().find(|&m| runs_here(m));
    assert_eq!(Some(CpuModel::top_level_on_host()), top);
    let flags = |args: &[&str]| {
        let out = std::process::Command::new(TERN)
            .args(args)
            .args(["/bin/grep", "-m1", "^flags", "/proc/cpuinfo"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let host = flags(&["--cpu", "host"]);
    assert_eq!(flags(&[]), host);
    let level = flags(&["--cpu", CpuModel::top_level_on_host().name()]);
    // `host` adds what the host has beyond the level (this test's hosts:
    // FSGSBASE always; AVX512-VBMI and GFNI on an AVX-512 host; RTM where
    // the host has it), and keeps every flag of the level.
    let native = std::fs::read_to_string("/proc/cpuinfo").unwrap();
    let native_flags = native.lines().find(|l| l.starts_with("flags")).unwrap_or_default().to_string() + " ";
    for flag in ["fsgsbase", "avx512vbmi", "gfni", "rtm"] {
        let on_host = native_flags.contains(&format!(" {flag} "));
        assert_eq!(host.contains(&format!(" {flag}")), on_host, "{flag}: {host}");
    }
    for flag in level.split_whitespace().skip(2) {
        assert!(host.split_whitespace().any(|f| f == flag), "host lacks the level's {flag}: {host}");
    }
}

/// The protection-key calls under a model without PKU (every one but
/// `host`, which has it where the host does: `pkeys.c` in the guest
/// programs) as on a CPU without it. On a host without protection keys
/// enabled (no `ospke`) the native run is the oracle: its kernel answers
/// as on such a CPU, by its configuration (built with x86 protection keys:
/// EINVAL for every key; without: key 0 taken, ENOSPC for a new one). On
/// a host with them, tern answers as the first kind of kernel.
#[test]
fn protection_keys_are_those_of_a_cpu_without_pku() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "pkeys.c",
        r#"#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
static void show(const char *what, long r) { printf("%s %ld %d\n", what, r, r < 0 ? errno : 0); }
int main(void) {
    char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("alloc", syscall(SYS_pkey_alloc, 0, 0));
    show("alloc-flags", syscall(SYS_pkey_alloc, 1, 0));
    show("alloc-rights", syscall(SYS_pkey_alloc, 0, 4));
    show("mprotect-none", syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, -1));
    show("mprotect-0", syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, 0));
    show("mprotect-1", syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, 1));
    show("free-1", syscall(SYS_pkey_free, 1));
    return 0;
}
"#,
    );
    let out = under_cpu("x86-64-v2", &bin, &[]);
    let ospke = std::fs::read_to_string("/proc/cpuinfo").unwrap().split_whitespace().any(|f| f == "ospke");
    let want = match ospke {
        true => "alloc -1 22\nalloc-flags -1 22\nalloc-rights -1 22\nmprotect-none 0 0\nmprotect-0 -1 22\nmprotect-1 -1 22\nfree-1 -1 22\n".to_string(),
        false => {
            let native = std::process::Command::new(&bin).output().expect("run natively");
            String::from_utf8_lossy(&native.stdout).into_owned()
        }
    };
    assert_eq!(String::from_utf8_lossy(&out.stdout), want, "{out:?}");
}

/// On a host with protection keys, a guest `xrstor` whose mask and image
/// name PKRU loads it under `host` (which offers PKU, as natively) and
/// leaves it alone under a model without PKU (as XCR0 would on such a
/// CPU; a value closing key 0 would close tern's own memory to tern).
/// The mask is cleared in flag-free glue around the instruction, for
/// operands on the stack (glibc's lazy-binding trampoline) and RIP-relative
/// ones out of reach of the code cache alike.
#[test]
fn xrstor_loads_pkru_only_where_the_model_has_pku() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    if !tern_translate::xstate::host_pku() || !runs_here(CpuModel::V3) {
        eprintln!("skipped: the host has no protection keys (or no AVX2 for x86-64-v3)");
        return;
    }
    let bin = build_source(
        "xrstor_pkru.c",
        r#"#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
static uint8_t image[8192] __attribute__((aligned(64)));
static uint32_t pkru(unsigned off) {
    static uint8_t b[8192] __attribute__((aligned(64)));
    __asm__ volatile("xsave %0" : "+m"(b) : "a"(-1), "d"(-1));
    uint32_t v;
    memcpy(&v, b + off, 4);
    return v;
}
int main(void) {
    unsigned a, off, c, d;
    __cpuid_count(0xd, 9, a, off, c, d);
    uint32_t before = pkru(off);
    __asm__ volatile("xsave %0" : "+m"(image) : "a"(-1), "d"(-1));
    uint64_t bv;
    memcpy(&bv, image + 512, 8);
    bv |= 1 << 9;
    memcpy(image + 512, &bv, 8);
    uint32_t v = before ^ 0xc0000000; /* key 15's rights */
    memcpy(image + off, &v, 4);
    __asm__ volatile("xrstor %0" :: "m"(image), "a"(-1), "d"(-1));
    printf("%s\n", pkru(off) == before ? "kept" : pkru(off) == v ? "loaded" : "other");
    return 0;
}
"#,
    );
    let native = run_native(&bin, &[], b"", &[]);
    assert_eq!(
        String::from_utf8_lossy(&native.stdout),
        "loaded
",
        "{native:?}"
    );
    let host = under_cpu("host", &bin, &[]);
    assert_eq!(
        String::from_utf8_lossy(&host.stdout),
        "loaded
",
        "{host:?}"
    );
    let v3 = under_cpu("x86-64-v3", &bin, &[]);
    assert_eq!(
        String::from_utf8_lossy(&v3.stdout),
        "kept
",
        "{v3:?}"
    );
}

/// A guest `xsave`, `xsaveopt` or `xsavec` with an all-ones mask under
/// `--cpu x86-64-v3` on a host whose XCR0 has more (AVX-512 here) runs with
/// the host's XCR0 (README "Compatibility"): CPUID leaf 0xD's sizes cover
/// everything it writes, and XSTATE_BV names no component outside the model
/// (the guest cannot touch them), as on a v3 CPU, but PKRU on a host with
/// protection keys (Linux keeps it out of its init state, 0x55555554, so
/// every save names it); XCOMP_BV of `xsavec` names the host's components,
/// where a v3 CPU's names only x87, SSE and AVX.
#[test]
fn xsave_under_v3_follows_the_hosts_xcr0() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "xsave_v3.c",
        r#"#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
static uint8_t buf[8192] __attribute__((aligned(64)));
__attribute__((target("avx,xsave,xsavec,xsaveopt"))) int main(void) {
    unsigned a, b, c, d, size, compacted;
    __cpuid_count(0xd, 0, a, size, c, d);
    __cpuid_count(0xd, 1, a, compacted, c, d);
    __asm__ volatile("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
    printf("xcr0 %u size %u compacted %u\n", a, size, compacted);
    volatile double x = 1.5;
    for (int k = 0; k < 3; k++) {
        memset(buf, 0xab, sizeof buf);
        memset(buf + 512, 0, 64);
        __asm__ volatile("vbroadcastsd %0, %%ymm3" :: "m"(x) : "xmm3");
        if (k == 0) __asm__ volatile("xsave %0" : "+m"(buf) : "a"(-1), "d"(-1));
        if (k == 1) __asm__ volatile("xsaveopt %0" : "+m"(buf) : "a"(-1), "d"(-1));
        if (k == 2) __asm__ volatile("xsavec %0" : "+m"(buf) : "a"(-1), "d"(-1));
        uint64_t bv, comp;
        memcpy(&bv, buf + 512, 8);
        memcpy(&comp, buf + 520, 8);
        unsigned end = sizeof buf;
        while (end > 0 && buf[end - 1] == 0xab) end--;
        /* ymm3's upper half in the AVX component (at 576 in both formats,
         * 16 bytes a register). */
        double hi;
        memcpy(&hi, buf + 576 + 3 * 16, 8);
        printf("%d bv %llx comp %llx end %u avx %g\n", k, (unsigned long long)bv,
               (unsigned long long)comp, end, hi);
        /* The image goes back in. */
        __asm__ volatile("xrstor %0" :: "m"(buf), "a"(-1), "d"(-1));
    }
    return 0;
}
"#,
    );
    let out = under_cpu("x86-64-v3", &bin, &[]);
    assert_eq!(out.status, ExitStatusDesc::Exited(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let head: Vec<u64> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .step_by(2)
        .map(|w| w.parse().unwrap_or(u64::MAX))
        .collect();
    let host = tern_translate::xstate::host_xcr0();
    let std_size = tern_translate::xstate::standard_size(host);
    assert_eq!(head[0], 7, "xgetbv: the model's XCR0\n{text}");
    assert_eq!(head[1], u64::from(std_size), "CPUID 0xD.0 EBX: the host's size\n{text}");
    for (k, line) in lines.enumerate() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let hex = |i: usize| u64::from_str_radix(w[i], 16).unwrap_or(u64::MAX);
        let (bv, comp, end) = (hex(2), hex(4), w[6].parse::<u64>().unwrap_or(u64::MAX));
        const PKRU: u64 = 1 << 9;
        assert_eq!(bv & !(7 | host & PKRU), 0, "XSTATE_BV outside the model: {line}");
        assert_eq!(bv & 4, 4, "ymm3 in use: {line}");
        assert_eq!(w[8], "1.5", "ymm3's upper half: {line}");
        let room = if k == 2 { head[2] } else { head[1] };
        assert!(end <= room, "wrote {end} bytes, CPUID gives {room}: {line}");
        if k == 2 {
            // The documented divergence: a v3 CPU has XCOMP_BV 1<<63 | 7.
            assert_eq!(comp, 1 << 63 | host, "{line}");
        } else {
            assert_eq!(comp, 0, "{line}");
        }
    }
    assert_eq!(text.lines().count(), 4, "{text}");
}
