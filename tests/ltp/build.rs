//! Discovers the scenarios: every `scenarios/*.c` becomes one entry of
//! `SCENARIOS` and one `#[test]` of the exported `scenario_tests!` macro,
//! written to `$OUT_DIR/scenarios.rs`. Adding a file is all it takes.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".c")).map(str::to_owned))
        .collect();
    names.sort_unstable();
    for name in &names {
        let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        assert!(ok, "scenario file {name}.c: names are [a-z][a-z0-9_]* (they become test names)");
    }
    let mut out = String::from("/// Every scenario, by name (its file is `scenarios/NAME.c`), sorted.\n");
    let _ = writeln!(out, "pub const SCENARIOS: &[&str] = &[{}];", quoted(&names));
    out.push_str(
        "/// One `#[test]` per scenario, calling `$check(\"NAME\")`.\n#[macro_export]\nmacro_rules! scenario_tests {\n    ($check:path) => {\n",
    );
    for name in &names {
        let _ = writeln!(
            out,
            "        #[test]\n        fn {name}() {{\n            $check(\"{name}\");\n        }}"
        );
    }
    out.push_str("    };\n}\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("scenarios.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}

fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}
