//! A real server under tern: PostgreSQL (Debian's `postgresql`). `initdb`,
//! the server and `pg_ctl` run under tern: a process tree (the postmaster
//! forks its checkpointer, writers, a backend per connection and parallel
//! query workers), shared memory (System V, POSIX `/dev/shm`), semaphores
//! and latches woken by signals, `setproctitle`, `fdatasync`. The clients
//! (`psql`, `pgbench`) run natively. The same SQL script gives the same
//! output from a server under tern as from a native one, and the tern
//! server's log shows a clean start and shutdown. A missing PostgreSQL fails
//! in CI (`CI=true`) and is reported loudly elsewhere
//! (`tern_tests::missing`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tern_tests::missing;

const TERN: &str = env!("CARGO_BIN_EXE_tern");

/// The newest `/usr/lib/postgresql/N/bin` with a `postgres` in it.
fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

/// One database cluster in a directory of its own, run natively or under
/// tern, as the `postgres` user when the tests run as root (PostgreSQL
/// refuses to run as root). Stopped, and its directory removed, when
/// dropped.
struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    /// A copy of tern that the `postgres` user can run, or None: native.
    tern: Option<PathBuf>,
    root: bool,
}

impl Cluster {
    fn new(bin: &Path, name: &str, under_tern: bool) -> Cluster {
        let dir = std::env::temp_dir().join(format!("tern-pg-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let tern = under_tern.then(|| {
            // The test binary's own tern may sit where `postgres` cannot
            // reach it (a checkout under /root).
            let copy = dir.join("tern");
            std::fs::copy(TERN, &copy).unwrap();
            copy
        });
        if root {
            let st = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status().unwrap();
            assert!(st.success(), "chown postgres {}", dir.display());
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Cluster { dir, bin: bin.to_path_buf(), tern, root }
    }

    /// `tool args` from the PostgreSQL bin directory, under tern if the
    /// cluster is (`server`) and as the cluster's user.
    fn run(&self, tool: &str, args: &[&str], server: bool) -> Output {
        let mut argv: Vec<String> = Vec::new();
        if self.root {
            argv.extend(
                ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"].map(String::from),
            );
        }
        if let (true, Some(t)) = (server, &self.tern) {
            argv.push(t.display().to_string());
        }
        argv.push(self.bin.join(tool).display().to_string());
        argv.extend(args.iter().map(|a| a.to_string()));
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
        assert!(
            out.status.success(),
            "{argv:?} failed ({}): {}{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        out
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// `initdb`'s output, the cluster's directory written as `DIR`.
    fn init(&self) -> String {
        let data = self.data();
        let out =
            self.run("initdb", &["-D", &data, "-A", "trust", "-U", "tern", "--no-sync", "-E", "UTF8"], true);
        String::from_utf8_lossy(&out.stdout).replace(&self.dir.display().to_string(), "DIR")
    }

    fn start(&self) {
        let (data, dir) = (self.data(), self.dir.display().to_string());
        // A Unix socket in the cluster's directory only, no TCP port.
        let opts = format!("-k {dir} -c listen_addresses='' -p 5432");
        let log = self.dir.join("server.log").display().to_string();
        self.run("pg_ctl", &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"], true);
    }

    /// A native client `tool` connected to the server.
    fn client(&self, tool: &str, args: &[&str]) -> String {
        let dir = self.dir.display().to_string();
        let mut all = vec!["-h", &dir, "-p", "5432", "-U", "tern"];
        all.extend_from_slice(args);
        all.push("postgres");
        String::from_utf8_lossy(&self.run(tool, &all, false).stdout).into_owned()
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"], true);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // A server a failed test left running: stopped natively.
        let pid = self.dir.join("data/postmaster.pid");
        if let Some(pid) =
            std::fs::read_to_string(pid).ok().and_then(|s| s.lines().next()?.parse::<i32>().ok())
        {
            // SAFETY: a signal to the postmaster this test started.
            unsafe { libc::kill(pid, libc::SIGQUIT) };
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Queries whose output is the same from any PostgreSQL of one version:
/// tables, an index, a transaction with a savepoint rolled back, numeric
/// arithmetic, a recursive query, a prepared statement, advisory locks, and
/// a parallel sequential scan (workers the postmaster forks, fed through
/// dynamic shared memory).
const SCRIPT: &str = "
create table t(a int primary key, b text, c numeric);
insert into t select g, md5(g::text), g * 1.5 from generate_series(1, 20000) g;
create index on t(b);
analyze t;
select count(*), sum(a), sum(c), min(b), max(b) from t;
select a, b from t where b like 'ab%' order by b limit 5;
begin;
update t set c = c * 2 where a % 7 = 0;
savepoint s;
delete from t where a < 100;
rollback to s;
commit;
select count(*), sum(c) from t;
with recursive r(n, f) as (select 1, 1::numeric union all select n + 1, f * (n + 1) from r where n < 30)
  select n, f from r where n in (10, 20, 30);
prepare q(int) as select b from t where a = $1;
execute q(12345);
select pg_advisory_lock(1), pg_advisory_unlock(1);
select regexp_replace('tern under test', '(\\w+) (\\w+)', '\\2 \\1'), to_char(date '2024-02-29' + 365, 'YYYY-MM-DD');
set max_parallel_workers_per_gather = 2;
set parallel_setup_cost = 0;
set parallel_tuple_cost = 0;
set min_parallel_table_scan_size = 0;
select count(*), sum(a) from t where c > 10;
";

/// What one cluster gives: `initdb`'s output, the script's, and pgbench's
/// failed transactions.
fn exercise(c: &Cluster) -> (String, String, String) {
    let init = c.init();
    c.start();
    if let Some(t) = &c.tern {
        // The host sees the postmaster as a tern process.
        let pid = std::fs::read_to_string(c.dir.join("data/postmaster.pid")).unwrap();
        let exe = std::fs::read_link(format!("/proc/{}/exe", pid.lines().next().unwrap())).unwrap();
        assert_eq!(&exe, t, "the postmaster runs under tern");
    }
    std::fs::write(c.dir.join("script.sql"), SCRIPT).unwrap();
    let script = c.dir.join("script.sql").display().to_string();
    let sql = c.client("psql", &["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", &script]);
    c.client("pgbench", &["-i", "-s", "1", "-q"]);
    let bench = c.client("pgbench", &["-c", "2", "-j", "2", "-t", "150"]);
    let failed = bench
        .lines()
        .filter(|l| l.contains("failed") || l.contains("processed"))
        .collect::<Vec<_>>()
        .join("\n");
    c.stop();
    (init, sql, failed)
}

#[test]
fn postgresql_server() {
    let Some(bin) = pg_bin() else {
        missing("PostgreSQL (/usr/lib/postgresql/N/bin/postgres)");
        return;
    };
    let native = Cluster::new(&bin, "native", false);
    let tern = Cluster::new(&bin, "tern", true);
    let want = exercise(&native);
    let got = exercise(&tern);
    assert_eq!(want.0, got.0, "initdb's output");
    assert_eq!(want.1, got.1, "the script's output");
    assert_eq!(want.2, got.2, "pgbench");
    let log = tern.log();
    for bad in ["PANIC", "terminated by signal", "was terminated", "FATAL"] {
        assert!(!log.contains(bad), "server log under tern says {bad}:\n{log}");
    }
    assert!(log.contains("database system is shut down"), "no clean shutdown:\n{log}");
}
