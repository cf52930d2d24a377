//! Real servers under tern, each compared with the same server run
//! natively: Redis (an event loop on epoll, I/O threads, a forked child
//! that writes the snapshot), nginx (a master and worker processes that
//! drop to `nobody`, `sendfile`, a reload by SIGHUP, a graceful quit) and
//! PostgreSQL (Debian's `postgresql`). For PostgreSQL, `initdb`,
//! the server and `pg_ctl` run under tern: a process tree (the postmaster
//! forks its checkpointer, writers, a backend per connection and parallel
//! query workers), shared memory (System V, POSIX `/dev/shm`), semaphores
//! and latches woken by signals, `setproctitle`, `fdatasync`. The clients
//! (`psql`, `pgbench`) run natively. The same SQL script gives the same
//! output from a server under tern as from a native one, and the tern
//! server's log shows a clean start and shutdown. A missing server fails in
//! CI (`CI=true`) and is reported loudly elsewhere (`tern_tests::missing`).

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

/// A server process started for a test, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `prog`, run under tern or natively.
fn command(under_tern: bool, prog: &str) -> Command {
    if under_tern {
        let mut cmd = Command::new(TERN);
        cmd.arg(prog);
        cmd
    } else {
        Command::new(prog)
    }
}

/// A port for a test's server: one per process and use, above the usual
/// ephemeral range's start (tests run as separate processes).
fn port(which: u16) -> u16 {
    20_000 + (std::process::id() % 5_000) as u16 * 4 + which
}

/// Runs `cmd` (a native client) and returns its standard output; panics if
/// it fails.
fn client(cmd: &mut Command) -> String {
    String::from_utf8_lossy(&tern_tests::output_ok(cmd).stdout).into_owned()
}

/// Waits until `probe` is true (a server up or gone), at most 10 s.
fn wait_for(what: &str, mut probe: impl FnMut() -> bool) {
    for _ in 0..200 {
        if probe() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

/// What a Redis server gives a fixed session of `redis-cli` commands, run
/// natively or under tern: strings, counters, lists, hashes, sets, a
/// transaction, a snapshot written by a forked child (BGSAVE) and read
/// back at a restart.
fn redis_session(under_tern: bool, which: u16) -> String {
    let dir = std::env::temp_dir().join(format!("tern-redis-{}-{which}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let p = port(which).to_string();
    let start = || {
        let mut cmd = command(under_tern, "/usr/bin/redis-server");
        cmd.args(["--port", &p, "--bind", "127.0.0.1", "--io-threads", "2", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let server = Server(cmd.spawn().expect("start redis-server"));
        wait_for("redis-server", || {
            Command::new("redis-cli").args(["-p", &p, "ping"]).output().is_ok_and(|o| o.stdout == b"PONG\n")
        });
        server
    };
    let cli = |args: &[&str]| client(Command::new("redis-cli").args(["-p", &p]).args(args));
    // Commands on one connection, from redis-cli's standard input.
    let batch = |input: &str| {
        use std::io::Write;
        let mut child = Command::new("redis-cli")
            .args(["-p", &p])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("redis-cli");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).unwrap();
        String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
    };
    let server = start();
    let mut out = batch(
        "set greeting hello\nappend greeting ,tern\nget greeting\nincrby counter 41\nincr counter\n\
         rpush list a b c d e\nlrange list 1 -2\nlpop list\nhset h f1 v1 f2 v2\nhgetall h\n\
         sadd s x y z x\nscard s\nexists greeting missing\n\
         multi\nincr counter\nlpush list z\nexec\n",
    );
    out += &batch(&(0..2000).map(|i| format!("set key:{i} {}\n", i * i)).collect::<String>())
        .lines()
        .filter(|l| *l != "OK")
        .collect::<String>();
    out += &cli(&["dbsize"]);
    out += &cli(&["bgsave"]);
    wait_for("the snapshot", || cli(&["info", "persistence"]).contains("rdb_bgsave_in_progress:0"));
    out += &cli(&["info", "persistence"])
        .lines()
        .filter(|l| l.starts_with("rdb_last_bgsave_status"))
        .collect::<String>();
    // The server's reply is the connection closing.
    let _ = Command::new("redis-cli").args(["-p", &p, "shutdown", "nosave"]).output();
    drop(server);
    // Restarted: the snapshot is read back.
    let server = start();
    out += &cli(&["dbsize"]);
    out += &cli(&["get", "key:1999"]);
    out += &cli(&["get", "greeting"]);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn redis_server() {
    if !Path::new("/usr/bin/redis-server").is_file() || tern_tests::find_program("redis-cli").is_none() {
        missing("Redis (/usr/bin/redis-server, redis-cli)");
        return;
    }
    let native = redis_session(false, 0);
    let tern = redis_session(true, 1);
    assert_eq!(native, tern);
    assert!(tern.contains("rdb_last_bgsave_status:ok"), "{tern}");
}

/// An nginx instance's directory; its master (a daemon, not a child of the
/// test) is stopped when dropped.
struct Nginx(PathBuf);

impl Nginx {
    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.0.join("nginx.pid")).ok()?.trim().parse().ok()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(pid) = self.pid() {
            // SAFETY: a signal to the master this test started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What an nginx with two worker processes serves, run natively or under
/// tern: a page, a 1 MB file (`sendfile`), a missing page; again after a
/// reload (SIGHUP: new workers); then a graceful quit.
fn nginx_session(under_tern: bool, which: u16) -> String {
    let dir = std::env::temp_dir().join(format!("tern-nginx-{}-{which}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("html")).unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(dir.join("html/index.html"), "hello from nginx\n").unwrap();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(dir.join("html/big.bin"), &big).unwrap();
    let p = port(2 + which);
    let conf = format!(
        "worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{ access_log off; server {{ listen 127.0.0.1:{p}; root {d}/html; sendfile on; }} }}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    // The HTML tree must be readable by the workers' user (nobody, as root).
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(&dir).status();
    let nginx = |args: &[&str]| {
        let mut cmd = command(under_tern, "/usr/sbin/nginx");
        client(cmd.arg("-p").arg(&dir).arg("-c").arg(dir.join("nginx.conf")).args(args));
    };
    let url = |path: &str| format!("http://127.0.0.1:{p}/{path}");
    let get = |path: &str| {
        client(Command::new("curl").args(["-s", "-w", " %{http_code} %{size_download}\n", &url(path)]))
    };
    let server = Nginx(dir.clone());
    nginx(&[]);
    wait_for("nginx", || {
        Command::new("curl").args(["-s", "-o", "/dev/null", &url("")]).status().is_ok_and(|s| s.success())
    });
    if under_tern {
        let exe = std::fs::read_link(format!("/proc/{}/exe", server.pid().expect("pid"))).unwrap();
        assert_eq!(exe, Path::new(TERN), "the master runs under tern");
    }
    let mut out = get("");
    let body = Command::new("curl").args(["-s", &url("big.bin")]).output().unwrap().stdout;
    out += &format!("big.bin: {} bytes, same {}\n", body.len(), body == big);
    out += &get("missing");
    let master = server.pid();
    nginx(&["-s", "reload"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    out += &get("");
    out += &format!("same master {}\n", server.pid() == master);
    nginx(&["-s", "quit"]);
    let pid = master.expect("pid");
    // SAFETY: signal 0 only asks whether the process exists.
    wait_for("nginx to quit", || unsafe { libc::kill(pid, 0) } != 0);
    out
}

#[test]
fn nginx_server() {
    if !Path::new("/usr/sbin/nginx").is_file() || tern_tests::find_program("curl").is_none() {
        missing("nginx (/usr/sbin/nginx) and curl");
        return;
    }
    let native = nginx_session(false, 0);
    let tern = nginx_session(true, 1);
    assert_eq!(native, tern);
}
