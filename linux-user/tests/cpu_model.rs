//! Faults and the CPU model: instructions that raise signals end the guest
//! exactly as natively (compared with the native run), and an instruction
//! outside tern's CPU model raises SIGILL with its bytes logged once, as on a
//! CPU without it (checked against a fixed expectation, since the host has
//! the extension).

use std::path::Path;
use tern_tests::{differential, run_under, Build, ExitStatusDesc};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

#[test]
fn trapping_instructions_end_the_guest_as_natively() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    for b in Build::all(false) {
        for what in ["int3", "ud2", "hlt", "sysret", "hints", "div", "divlong", "null", "abort", "none"] {
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
    let out = run_under(Path::new(TERN), &bin, &[], b"", &[]);
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
    let under = std::process::Command::new(TERN).arg(&bin).output().unwrap();
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
    let v2 = std::process::Command::new(TERN).arg(&bin).output().unwrap();
    assert_eq!(norm(v2), "sse2 1 sse4.2 1 popcnt 1 avx 0 avx2 0 bmi2 0\n");
    let v1 = std::process::Command::new(TERN).args(["--cpu", "x86-64"]).arg(&bin).output().unwrap();
    assert_eq!(norm(v1), "sse2 1 sse4.2 0 popcnt 0 avx 0 avx2 0 bmi2 0\n");
}

/// tern's own memory is not the guest's: unmapping, reprotecting or mapping
/// over all of the address space fails as Linux fails for an unavailable
/// range, and tern keeps running (natively this program would destroy
/// itself, so the expectation is fixed, not native).
#[test]
fn guest_cannot_unmap_or_overwrite_terns_memory() {
    if tern_tests::skip_without_compiler(false) {
        return;
    }
    let bin = build_source(
        "guard.c",
        "#include <errno.h>\n#include <stdio.h>\n#include <string.h>\n#include <sys/mman.h>\n\
         int main(void){\n\
           void *lo = (void *)0x10000; size_t all = 0x7fff00000000ul - 0x10000;\n\
           int r = munmap(lo, all); printf(\"munmap %d %s\\n\", r, r ? strerror(errno) : \"\");\n\
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
        "munmap -1 Invalid argument\nmprotect -1 Cannot allocate memory\n\
         mmap fixed failed Cannot allocate memory\nmmap noreplace failed File exists\nalive\n"
    );
    assert!(out.status.success());
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
    let v2 = flags(&[]);
    assert!(v2.contains(" sse4_2") && v2.contains(" sse2"), "{v2}");
    assert!(!v2.contains(" avx") && !v2.contains(" bmi1"), "{v2}");
    let v1 = flags(&["--cpu", "x86-64"]);
    assert!(v1.contains(" sse2") && !v1.contains(" sse4_2") && !v1.contains(" popcnt"), "{v1}");
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
/// Flags Linux defines itself (no CPUID bit of the leaves above).
const LINUX_DEFINED: &[&str] = &[
    "constant_tsc",
    "rep_good",
    "nopl",
    "xtopology",
    "tsc_reliable",
    "nonstop_tsc",
    "cpuid",
    "extd_apicid",
    "aperfmperf",
    "tsc_known_freq",
    "art",
    "arch_perfmon",
    "pebs",
    "bts",
    "nonstop_tsc_s3",
];

/// What a guest sees of its CPU under tern, parsed from the output of
/// `cpuid_flags.c`: CPUID registers, AT_HWCAP, the `/proc/cpuinfo` flags.
struct SeenCpu {
    regs: Vec<(&'static str, &'static [&'static str; 32], u32)>,
    hwcap: u64,
    leaf1_edx: u32,
    flags: Vec<String>,
}

fn seen_cpu(bin: &Path, cpu: &str) -> SeenCpu {
    let out = std::process::Command::new(TERN).args(["--cpu", cpu]).arg(bin).output().unwrap();
    assert!(out.status.success(), "{cpu}: {out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| -> String {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}: {text}"));
        line[name.len()..].trim().to_string()
    };
    let hex = |name: &str| u64::from_str_radix(&field(name), 16).unwrap_or_else(|e| panic!("{name}: {e}"));
    let reg = |name: &str| u32::try_from(hex(name)).expect("32-bit register");
    SeenCpu {
        regs: vec![
            ("1.edx", &LEAF1_EDX, reg("leaf1.edx")),
            ("1.ecx", &LEAF1_ECX, reg("leaf1.ecx")),
            ("7.ebx", &LEAF7_EBX, reg("leaf7.ebx")),
            ("0x80000001.edx", &EXT1_EDX, reg("ext1.edx")),
            ("0x80000001.ecx", &EXT1_ECX, reg("ext1.ecx")),
        ],
        hwcap: hex("hwcap"),
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
           __cpuid_count(7, 0, a, b, c, d); printf(\"leaf7.ebx %x\\n\", b);\n\
           __cpuid_count(0x80000001, 0, a, b, c, d); printf(\"ext1.ecx %x\\next1.edx %x\\n\", c, d);\n\
           /* The auxv as the kernel passed it: glibc's getauxval(AT_HWCAP) is its own. */\n\
           while (*envp) envp++;\n\
           for (Elf64_auxv_t *v = (Elf64_auxv_t *)(envp + 1); v->a_type != AT_NULL; v++)\n\
             if (v->a_type == AT_HWCAP) printf(\"hwcap %lx\\n\", (unsigned long)v->a_un.a_val);\n\
           FILE *f = fopen(\"/proc/cpuinfo\", \"r\"); char line[8192];\n\
           while (f && fgets(line, sizeof line, f))\n\
             if (!strncmp(line, \"flags\", 5)) { printf(\"flags %s\", strchr(line, ':') + 1); break; }\n\
           return 0; }\n",
    );
    for &cpu in tern_translate::CpuModel::NAMES {
        let seen = seen_cpu(&bin, cpu);
        assert_eq!(seen.hwcap, u64::from(seen.leaf1_edx), "{cpu}: AT_HWCAP is not CPUID.1:EDX");
        let mut named = Vec::new();
        for (reg, names, value) in &seen.regs {
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
        assert!(seen.flags.iter().any(|f| f == "sse2"), "{cpu}: {:?}", seen.flags);
        let v2 = cpu == "x86-64-v2";
        assert_eq!(seen.flags.iter().any(|f| f == "sse4_2"), v2, "{cpu}: {:?}", seen.flags);
    }
}
