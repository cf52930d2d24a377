//! What the top of the report says about how the results came about: whether
//! the run is partial (and how to resume it), the sessions it was measured
//! over, and whether the tern binary changed between them.

use std::fmt::Write as _;
use std::path::Path;

use crate::results::{Measured, Results, TernBuild};

/// The workloads one session measured.
struct Session<'a> {
    number: u32,
    first: &'a Measured,
    last: &'a Measured,
    names: Vec<&'a str>,
}

/// The sessions in order (workloads without a record are left out).
fn sessions(r: &Results) -> Vec<Session<'_>> {
    let mut sessions: Vec<Session> = Vec::new();
    for w in &r.workloads {
        let Some(m) = &w.measured else { continue };
        match sessions.iter_mut().find(|s| s.number == m.session) {
            Some(s) => {
                if m.started_utc < s.first.started_utc {
                    s.first = m;
                }
                if m.finished_utc > s.last.finished_utc {
                    s.last = m;
                }
                s.names.push(&w.name);
            }
            None => sessions.push(Session { number: m.session, first: m, last: m, names: vec![&w.name] }),
        }
    }
    sessions.sort_by_key(|s| s.number);
    sessions
}

/// `2026-11-26 03:30–04:25`, or `2026-11-26 23:30–2026-11-27 00:10`.
fn span(from: &str, to: &str) -> String {
    let minutes = |t: &str| t.get(..16).unwrap_or(t).to_string();
    let (from, to) = (minutes(from), minutes(to));
    match (from.split_once(' '), to.split_once(' ')) {
        (Some((day_a, _)), Some((day_b, time_b))) if day_a == day_b => format!("{from}–{time_b}"),
        _ => format!("{from}–{to}"),
    }
}

/// For a partial run, a Markdown paragraph that says so and how to resume
/// it (`dir` is where its `results.json` is); empty otherwise.
pub fn partial(r: &Results, dir: &Path) -> String {
    let mut md = String::new();
    let unmeasured = r.unmeasured();
    if !unmeasured.is_empty() {
        let planned = r.meta.settings.plan.len();
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let names: Vec<&str> = unmeasured.iter().map(|p| p.name.as_str()).collect();
        let _ = writeln!(
            md,
            "> **Partial: {} of {planned} workloads measured; resume with `benches/run --resume {}`.** \
             Not measured yet: {}. Means cover the measured workloads only.\n",
            planned - unmeasured.len(),
            dir.display(),
            names.join(", ")
        );
    }
    md
}

/// For a run measured over several sessions, Markdown paragraphs that list
/// them and warn if tern changed between them; empty otherwise.
pub fn sessions_and_builds(r: &Results) -> String {
    let mut md = String::new();
    let sessions = sessions(r);
    if sessions.len() > 1 {
        let spans: Vec<String> = sessions
            .iter()
            .map(|s| {
                let count = s.names.len();
                format!(
                    "{} UTC ({count} workload{})",
                    span(&s.first.started_utc, &s.last.finished_utc),
                    plural(count)
                )
            })
            .collect();
        let _ = writeln!(md, "Measured over {} sessions: {}.\n", sessions.len(), spans.join(", "));
    }
    let mut builds: Vec<&TernBuild> = sessions.iter().map(|s| &s.first.tern).collect();
    builds.dedup();
    if builds.len() > 1 {
        let _ = writeln!(
            md,
            "> **Caveat: the tern binary changed between sessions**, so tern's numbers in different \
             sessions come from different builds:\n>"
        );
        for s in &sessions {
            let (first, last) = (s.names[0], s.names[s.names.len() - 1]);
            let which = if first == last { first.to_string() } else { format!("{first} … {last}") };
            let _ = writeln!(md, "> - session {} ({which}): {}", s.number, s.first.tern);
        }
        md.push('\n');
    }
    md
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_leave_out_a_repeated_day() {
        assert_eq!(span("2026-11-26 03:30:12", "2026-11-26 04:25:59"), "2026-11-26 03:30–04:25");
        assert_eq!(span("2026-11-26 23:30:00", "2026-11-27 00:10:00"), "2026-11-26 23:30–2026-11-27 00:10");
    }
}
