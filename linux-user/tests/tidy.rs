//! Tidy checks over the whole workspace, in the manner of rust-analyzer's
//! `tidy.rs`: every Rust file opens with `//!` docs saying what it owns, and
//! every `unsafe` block sits in a file that explains itself with `SAFETY:`
//! comments (clippy's `undocumented_unsafe_blocks` checks each block).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir() {
            if !["target", ".git", "fuzz", "bench-results"].contains(&name.as_str()) {
                rust_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_rust_file_has_module_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(files.len() > 20, "found only {} files under {root:?}", files.len());
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !std::fs::read_to_string(f).unwrap().trim_start().starts_with("//!"))
        .collect();
    assert!(missing.is_empty(), "files without //! module docs: {missing:?}");
}

#[test]
fn unsafe_stays_in_its_modules() {
    // Crates whose job needs no unsafe code at all.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for krate in ["tests/src"] {
        let mut files = Vec::new();
        rust_files(&root.join(krate), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            assert!(!text.contains("unsafe {"), "{f:?} uses unsafe; keep unsafe in the low-level crates");
        }
    }
}
