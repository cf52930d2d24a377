//! Where the scenarios live, the directives in their first lines, and
//! building them with the shared gcc cache (`tern_tests::build_source`).
//!
//! A scenario may say, in a comment line of its own among its first 20
//! lines, `// tst: static` to be checked in the static build as well as the
//! dynamic one (where the C library's start-up or its signal wrappers
//! matter).

use std::path::{Path, PathBuf};

use tern_tests::{build_source, cache_dir, Build};

/// The directory holding the scenario sources (`tests/ltp/scenarios`).
pub fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The source file of scenario `name`.
pub fn scenario_source(name: &str) -> PathBuf {
    scenario_dir().join(format!("{name}.c"))
}

/// One scenario and the builds it is checked in.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub builds: Vec<Build>,
}

/// The builds every scenario gets, and the one `// tst: static` adds.
const DYNAMIC: Build = Build { static_: false, opt: "-O2", cxx: false };
const STATIC: Build = Build { static_: true, opt: "-O2", cxx: false };

impl Scenario {
    /// Reads the directives of scenario `name`. Panics if it has no source
    /// or an unknown directive.
    pub fn load(name: &str) -> Scenario {
        let path = scenario_source(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut builds = vec![DYNAMIC];
        for line in text.lines().take(20) {
            let Some(directive) = line.trim().strip_prefix("// tst:") else { continue };
            match directive.trim() {
                "static" => builds.push(STATIC),
                other => panic!("{}: unknown directive `// tst: {other}`", path.display()),
            }
        }
        Scenario { name: name.to_owned(), builds }
    }

    /// Compiles the scenario as `b` says (cached) and returns the binary.
    pub fn binary(&self, b: &Build) -> PathBuf {
        build_source(&cache_dir().join("ltp"), &scenario_source(&self.name), b)
    }
}
