//! Real programs that choose their code paths by CPUID (AVX2, AVX-512,
//! VAES/PCLMUL, BMI2...) give native output under tern, in tern's default
//! CPU model (`host`): `zstd -19` and
//! `xz -9e` round trips, OpenSSL ciphers, digests and GMAC, `openssl speed
//! -evp aes-256-gcm`, and numpy (a seeded computation and the verdicts of
//! numpy's own `test_umath` under pytest). Debian's python3-numpy,
//! python3-pytest and python3-hypothesis are installed by `./dev test`; a
//! missing program or module fails in CI and is reported elsewhere.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tern_tests::{assert_same, missing, run_native, run_under, Outcome};

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// A scratch directory with a generated 1 MiB text (`text`) and 256 KiB of
/// pseudo-random bytes (`bin`), made once per test binary.
fn inputs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("tern-simd-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let words = ["vector", "lane", "mask", "gather", "fma", "zstd", "tern", "native", "ymm", "zmm", "42"];
        let mut text = String::new();
        while text.len() < 1 << 20 {
            text.push_str(words[(next() % 11) as usize]);
            text.push(if next() % 13 == 0 { '\n' } else { ' ' });
        }
        std::fs::write(d.join("text"), &text).unwrap();
        let bin: Vec<u8> = (0..1 << 15).flat_map(|_| next().to_le_bytes()).collect();
        std::fs::write(d.join("bin"), bin).unwrap();
        d
    })
}

/// The Debian program `name` in /usr/bin (never a pyenv shim), or `None`
/// after `missing` (a panic in CI).
fn debian(name: &str) -> Option<PathBuf> {
    let p = Path::new("/usr/bin").join(name);
    if p.is_file() {
        Some(p)
    } else {
        missing(&format!("the program `/usr/bin/{name}`"));
        None
    }
}

/// Runs the shell command `script` in the inputs directory with `/bin/sh`,
/// natively and under tern (the shell and everything it starts).
fn sh_both(script: &str) -> (Outcome, Outcome) {
    let dir = inputs().display().to_string();
    let args = ["-c", &format!("cd '{dir}' && {script}")];
    let sh = Path::new("/bin/sh");
    (run_native(sh, &args, b"", &[]), run_under(Path::new(TERN), sh, &args, b"", &[]))
}

/// [`sh_both`], and everything must be equal.
fn sh_same(script: &str, needs: &[&str]) {
    if !needs.iter().all(|p| debian(p).is_some()) {
        return;
    }
    let (native, tern) = sh_both(script);
    assert!(!native.stdout.is_empty(), "{script} printed nothing natively: {native:?}");
    assert_same(script, &native, &tern);
}

#[test]
fn zstd_19_round_trip() {
    sh_same(
        "zstd -19 -q -c text | sha256sum; zstd -19 -q -c text | zstd -d -q -c | sha256sum; \
         zstd -3 -q -c bin | zstd -d -q -c | cmp - bin && echo same",
        &["zstd", "sha256sum", "cmp"],
    );
}

#[test]
fn xz_9e_round_trip() {
    sh_same(
        "xz -9e --check=crc64 -c text | sha256sum; xz -6 --check=sha256 -c text | xz -d -c | sha256sum; \
         xz -1 -c bin | xz -d -c | cmp - bin && echo same",
        &["xz", "sha256sum", "cmp"],
    );
}

/// Ciphers (AES-NI, VAES and the stitched AES-GCM paths where the model
/// allows them), digests (SHA-NI, AVX2) and GMAC (PCLMULQDQ/VPCLMULQDQ).
/// `openssl enc` takes no AEAD cipher, so GCM is exercised through GMAC
/// and `openssl speed` below. The encrypting side of a pipe writes its
/// warnings to a file, shown after the pipe ends: natively too, two
/// processes writing one stderr interleave by timing.
#[test]
fn openssl_ciphers_digests_gmac() {
    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    sh_same(
        &format!(
            "for c in aes-256-ctr aes-256-cbc aes-128-ecb chacha20; do \
               openssl enc -$c -K {KEY} -iv 0f0e0d0c0b0a09080706050403020100 -in text | sha256sum; \
               openssl enc -$c -K {KEY} -iv 0f0e0d0c0b0a09080706050403020100 -in text 2>enc.err | \
                 openssl enc -d -$c -K {KEY} -iv 0f0e0d0c0b0a09080706050403020100 | cmp - text && echo $c ok; \
               cat enc.err >&2; \
             done; \
             openssl dgst -sha256 -sha512 -sha3-256 -blake2b512 -md5 text bin; \
             openssl mac -cipher AES-256-GCM -macopt hexkey:{KEY} -macopt hexiv:000102030405060708090a0b -in text GMAC"
        ),
        &["openssl", "sha256sum", "cmp"],
    );
}

/// The lines of an `openssl speed` report with every number replaced by
/// `N` (its rates vary from run to run), blanks squeezed.
fn speed_shape(out: &Outcome) -> Vec<String> {
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines()
        .filter(|l| {
            l.starts_with("Doing")
                || l.starts_with("type")
                || l.to_ascii_lowercase().starts_with("aes-256-gcm")
        })
        .map(tern_tests::numbers_as_n)
        .collect()
}

/// `openssl speed -evp aes-256-gcm -seconds 1` runs to its end under tern
/// (exit 0, the same report with sane rates: every rate above zero).
#[test]
fn openssl_speed_aes_256_gcm() {
    let Some(openssl) = debian("openssl") else { return };
    let args = ["speed", "-evp", "aes-256-gcm", "-seconds", "1"];
    let native = run_native(&openssl, &args, b"", &[]);
    let tern = run_under(Path::new(TERN), &openssl, &args, b"", &[]);
    assert_eq!(native.status, tern.status, "tern: {}", String::from_utf8_lossy(&tern.stderr));
    let shape = speed_shape(&native);
    assert_eq!(shape.len(), 8, "6 block sizes, a header and a row natively: {shape:?}");
    assert_eq!(shape, speed_shape(&tern));
    let row = String::from_utf8_lossy(&tern.stdout)
        .lines()
        .find(|l| l.starts_with("AES-256-GCM") || l.starts_with("aes-256-gcm"))
        .map(str::to_string)
        .unwrap_or_default();
    let rates: Vec<f64> =
        row.split_whitespace().skip(1).filter_map(|r| r.trim_end_matches('k').parse().ok()).collect();
    assert!(rates.len() == 6 && rates.iter().all(|r| *r > 0.0), "rates under tern: {row}");
    eprintln!("openssl speed -evp aes-256-gcm under tern: {row}");
}

/// Debian's python3 with numpy importable, or `None` after `missing`.
fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let py = debian("python3")?;
    for m in modules {
        let ok = std::process::Command::new(&py).args(["-c", &format!("import {m}")]).output();
        if !ok.is_ok_and(|o| o.status.success()) {
            missing(&format!("the python3 module `{m}` (Debian python3-{m})"));
            return None;
        }
    }
    Some(py)
}

/// A seeded numpy computation through its SIMD-dispatched loops (ufuncs,
/// reductions, sorting, linear algebra, FFT, float16 conversion): the
/// printed results must be bit-for-bit native ones.
#[test]
fn numpy_computation() {
    let Some(py) = python_with(&["numpy"]) else { return };
    let script = "import numpy as np\n\
        r = np.random.default_rng(7)\n\
        a = r.standard_normal(100_003); b = r.standard_normal(100_003)\n\
        i = r.integers(-2**31, 2**31, 50_001, dtype=np.int64)\n\
        def h(x): return x.tobytes().hex()[:32] + ' ' + str(hash(x.tobytes()))\n\
        print(h(np.sin(a)), h(np.exp(a)), h(np.log(np.abs(a))), h(np.sqrt(np.abs(b))))\n\
        print(repr(a.sum()), repr(np.dot(a, b)), repr(a.max()), repr(np.abs(a).min()))\n\
        print(h(np.sort(a)), h(np.sort(i)), h(np.argsort(i, kind='stable')))\n\
        print(h(a.astype(np.float32) * b.astype(np.float32)), h(a.astype(np.float16)))\n\
        m = a[:90_000].reshape(300, 300); print(h(m @ m.T), repr(np.linalg.det(m[:40, :40])))\n\
        print(h(np.fft.fft(a[:4096])), h(np.cumsum(i)), h(np.unique(i % 1000)))\n\
        print(h((i & 0xff) == (i >> 3 & 0xff)), np.count_nonzero(a > 0), h(np.maximum(a, b)))\n";
    let env = [("PYTHONHASHSEED", "0"), ("OPENBLAS_NUM_THREADS", "1")];
    let native = run_native(&py, &["-c", script], b"", &env);
    assert!(native.status == tern_tests::ExitStatusDesc::Exited(0), "natively: {native:?}");
    let tern = run_under(Path::new(TERN), &py, &["-c", script], b"", &env);
    assert_same("numpy computation", &native, &tern);
}

/// The pytest summary line (`4391 passed, 15 skipped, 2 warnings in
/// 13.67s`) without its time.
fn verdicts(out: &Outcome) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.contains(" passed") || l.contains(" failed")).unwrap_or("");
    line.rsplit_once(" in ").map_or(line, |(v, _)| v).trim_matches('=').trim().to_string()
}

/// numpy's own tests of its ufunc loops (`numpy.core.tests.test_umath`,
/// about 4,400 tests, many of them per SIMD path): the same verdicts under
/// tern as natively, nothing failed.
#[test]
fn numpy_test_umath() {
    let Some(py) = python_with(&["numpy", "pytest", "hypothesis"]) else { return };
    let dir = inputs().display().to_string();
    let args = [
        "-m",
        "pytest",
        "--pyargs",
        "numpy.core.tests.test_umath",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        &dir,
    ];
    let env = [("PYTHONHASHSEED", "0"), ("OPENBLAS_NUM_THREADS", "1"), ("PYTHONDONTWRITEBYTECODE", "1")];
    let native = run_native(&py, &args, b"", &env);
    let tern = run_under(Path::new(TERN), &py, &args, b"", &env);
    let (nv, tv) = (verdicts(&native), verdicts(&tern));
    assert!(nv.contains(" passed") && !nv.contains("failed"), "natively: {nv}: {native:?}");
    assert_eq!(
        (nv.as_str(), &native.status),
        (tv.as_str(), &tern.status),
        "verdicts differ; under tern:\n{}",
        String::from_utf8_lossy(&tern.stdout).lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
}
