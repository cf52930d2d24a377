//! The table of scenarios expected to differ under tern today,
//! `tests/ltp/expected-differ.txt`: one line per scenario, its name then
//! the reason (`#` starts a comment). The table must stay true: an entry
//! for a scenario that matches native is an error, as is an entry without
//! a reason, a duplicate, or a name with no scenario.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The table's path.
pub fn table_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("expected-differ.txt")
}

/// The table: scenario name -> reason. Panics on a malformed line.
pub fn table() -> BTreeMap<String, String> {
    let path = table_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses the table's text.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(before, _)| before).trim();
        if line.is_empty() {
            continue;
        }
        let (name, reason) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(format!("line {}: `{name}` has no reason", i + 1));
        }
        if map.insert(name.to_owned(), reason.to_owned()).is_some() {
            return Err(format!("line {}: `{name}` is listed twice", i + 1));
        }
    }
    Ok(map)
}

/// The reason scenario `name` is expected to differ, if it is listed.
pub fn reason(name: &str) -> Option<String> {
    table().remove(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_reasons_and_comments() {
        let t = parse("# head\n\nkill01  no handlers yet # note\n  pause01 hangs\n").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t["kill01"], "no handlers yet");
        assert_eq!(t["pause01"], "hangs");
    }

    #[test]
    fn rejects_missing_reason_and_duplicates() {
        assert!(parse("kill01\n").unwrap_err().contains("no reason"));
        assert!(parse("a x\na y\n").unwrap_err().contains("twice"));
    }
}
