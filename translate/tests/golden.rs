//! Golden tests of the translator, in the manner of Cranelift's
//! `precise-output` filetests: each file in `tests/golden/` gives guest
//! bytes, a guest address and a host address; below its `----` line is the
//! expected guest disassembly, IR, host code with the pc map, and exit
//! descriptors. A change in what tern emits shows up as a diff to review.
//! `TERN_BLESS=1 cargo test -p tern-translate --test golden` rewrites the
//! expectations.

mod common;

use std::path::{Path, PathBuf};
use tern_translate::CpuModel;

const SEPARATOR: &str = "----";

struct Case {
    header: String,
    model: CpuModel,
    /// Lift as host (vDSO) code: no CPU-model check.
    host_code: bool,
    guest: u64,
    host: u64,
    bytes: Vec<u8>,
    expected: String,
}

fn parse_num(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16).expect("hex number"),
        None => s.parse().expect("number"),
    }
}

fn parse(path: &Path) -> Case {
    let text = std::fs::read_to_string(path).unwrap();
    let (header, expected) = match text.split_once(&format!("\n{SEPARATOR}\n")) {
        Some((h, e)) => (h.to_string() + "\n", e.to_string()),
        None => (text.trim_end_matches(SEPARATOR).to_string(), String::new()),
    };
    let mut case = Case {
        header,
        model: CpuModel::V2,
        host_code: false,
        guest: 0x40_1000,
        host: 0x7f00_0010_0000,
        bytes: vec![],
        expected,
    };
    for line in case.header.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, val) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "guest" => case.guest = parse_num(val),
            "host" => case.host = parse_num(val),
            "host_code" => case.host_code = true,
            "model" => case.model = CpuModel::from_name(val.trim()).expect("model name"),
            "bytes" => case
                .bytes
                .extend(val.split_whitespace().map(|b| u8::from_str_radix(b, 16).expect("hex byte"))),
            _ => panic!("{}: unknown key {key:?}", path.display()),
        }
    }
    assert!(!case.bytes.is_empty(), "{}: no bytes", path.display());
    case
}

/// A line diff (longest common subsequence), `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out += &format!("  {}\n", a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out += &format!("+ {}\n", b[j]);
            j += 1;
        } else {
            out += &format!("- {}\n", a[i]);
            i += 1;
        }
    }
    out
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    v.sort();
    v
}

#[test]
fn translator_output_matches_the_golden_files() {
    let bless = std::env::var_os("TERN_BLESS").is_some_and(|v| v == "1");
    let files = cases();
    assert!(files.len() >= 20, "golden cases missing: {}", files.len());
    let mut failures = Vec::new();
    for path in files {
        let case = parse(&path);
        let (ir, em) = common::translate_code(case.model, case.host_code, case.guest, case.host, &case.bytes);
        let actual = common::dump(&ir, &em, case.host);
        if actual == case.expected {
            continue;
        }
        if bless {
            std::fs::write(&path, format!("{}{SEPARATOR}\n{actual}", case.header)).unwrap();
        } else {
            failures.push(format!("{}:\n{}", path.display(), diff(&case.expected, &actual)));
        }
    }
    assert!(
        failures.is_empty(),
        "translator output differs from the golden files (TERN_BLESS=1 to accept):\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_diff_shows_what_changed() {
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert_eq!(d, "  a\n+ x\n- b\n  c\n");
}
