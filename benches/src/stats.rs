//! Parsing the counters tern prints to stderr at exit with `--stats`:
//!
//! ```text
//! tern stats:
//!   blocks translated   2081
//!   translation time    1.234 ms
//!   exits: syscall      29
//! ```
//!
//! A guest that forks may print several blocks (one per process); their
//! counters are added up.

/// Counters in order of first appearance: label (with the unit, if any, in
/// parentheses) and value.
pub type Counters = Vec<(String, f64)>;

/// Parses and sums every `tern stats:` block in `stderr`. Empty if none.
pub fn parse(stderr: &str) -> Counters {
    let mut counters: Counters = Vec::new();
    let mut in_block = false;
    for line in stderr.lines() {
        if line.trim_end() == "tern stats:" {
            in_block = true;
            continue;
        }
        if !in_block {
            continue;
        }
        if !line.starts_with(' ') {
            in_block = false;
            continue;
        }
        let Some((label, value)) = parse_line(line) else { continue };
        match counters.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => *v += value,
            None => counters.push((label, value)),
        }
    }
    counters
}

/// `  label words   123.4 unit` -> ("label words (unit)", 123.4).
fn parse_line(line: &str) -> Option<(String, f64)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|w| w.parse::<f64>().is_ok())?;
    if at == 0 {
        return None;
    }
    let value = words[at].parse().ok()?;
    let mut label = words[..at].join(" ");
    if let Some(unit) = words.get(at + 1) {
        label = format!("{label} ({unit})");
    }
    Some((label, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_sums_blocks() {
        let err = "warning: x\ntern stats:\n  blocks translated   2081\n  translation time    1.5 ms\n  \
                   exits: syscall      29\nguest output\ntern stats:\n  blocks translated   19\n";
        let c = parse(err);
        assert_eq!(
            c,
            vec![
                ("blocks translated".to_string(), 2100.0),
                ("translation time (ms)".to_string(), 1.5),
                ("exits: syscall".to_string(), 29.0),
            ]
        );
        assert!(parse("no stats here\n").is_empty());
        // Names with ':' and spaces, longer than their column or not.
        let err = "tern stats:\n  traces: compile us   27090\n  guest insns: baseline 12\n  \
                   traces: stale at install 0\n";
        let labels: Vec<String> = parse(err).into_iter().map(|(l, _)| l).collect();
        assert_eq!(labels, ["traces: compile us", "guest insns: baseline", "traces: stale at install"]);
    }
}
