//! Short runs of the syscall fuzzer in the normal suite: a tern internal
//! fault, panic or hang, or a guest that finishes natively but not under
//! tern, fails the test unless an allowlist entry explains it.

use std::time::{Duration, Instant};

use tern_fuzz_guest::sys;

fn run(
    name: &str,
    seeds: impl Iterator<Item = u64>,
    n: usize,
    tern_pointers: bool,
    budget: Duration,
) -> sys::Figures {
    let tern = tern_fuzz_guest::tern_binary();
    let guest = sys::guest();
    let fig =
        sys::campaign(&guest, &tern, seeds, n, tern_pointers, Some(Instant::now() + budget), &mut |s| {
            println!("{s}")
        });
    println!("{name}: {fig}");
    assert!(fig.cases > 0, "no case ran");
    assert!(fig.passed + fig.failures > 0, "no case finished natively: is the sandbox working? {fig}");
    assert!(fig.failing_seeds.is_empty(), "{name}: tern failures: {fig}");
    fig
}

/// 4000 random calls (20 cases of 200) with hostile arguments, none of
/// them pointing into tern's memory.
#[test]
fn random_syscalls_do_not_hurt_tern() {
    let fig = run("strict", 1_000..1_020, 200, false, Duration::from_secs(45));
    assert!(fig.passed * 2 >= fig.cases, "most cases should finish: {fig}");
}

/// Pointers into tern's own memory as well: each must fail as an unmapped
/// address would, never reach tern's data.
#[test]
fn random_syscalls_with_tern_pointers() {
    run("tern pointers", 2_000..2_010, 200, true, Duration::from_secs(30));
}

/// The sandbox keeps the fuzz child away from the host's files even when
/// the tests run as root: creating a file in `/` fails.
#[test]
fn sandbox_protects_the_host() {
    let probe = std::path::Path::new("/tern-fuzz-sandbox-probe");
    let st = sys::sandbox()
        .args(["sh", "-c", "id -u && : > /tern-fuzz-sandbox-probe"])
        .output()
        .expect("run setpriv/unshare");
    let created = probe.exists();
    let _ = std::fs::remove_file(probe);
    assert!(!created, "the sandbox let the child write to /");
    assert!(!st.status.success(), "creating a file in / should fail: {st:?}");
    assert_eq!(
        String::from_utf8_lossy(&st.stdout).trim(),
        "0",
        "the child should be root in its namespace: {st:?}"
    );
}

/// Seeds that once found a bug.
#[test]
fn regression_seeds() {
    let fig = run("regressions", sys::REGRESSION_SEEDS.iter().copied(), 500, false, Duration::from_secs(60));
    assert_eq!(fig.native_fails, 0, "these seeds finish natively: {fig}");
}

#[test]
fn later_regression_seeds() {
    for &(seed, n, pointers) in sys::LATER_REGRESSION_SEEDS {
        run("later regressions", std::iter::once(seed), n, pointers, Duration::from_secs(30));
    }
}

/// The generator is deterministic and never draws a denied call.
#[test]
fn generator_is_deterministic_and_respects_the_deny_list() {
    let a = sys::generate(9, 2000, true);
    let b = sys::generate(9, 2000, true);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert!(a.iter().all(|c| !sys::policy::denied(c.nr)));
    assert!(sys::generate(9, 2000, false)
        .iter()
        .all(|c| c.args.iter().all(|x| matches!(x, sys::Arg::Value(_)))));
}
