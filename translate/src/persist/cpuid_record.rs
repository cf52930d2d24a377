//! The host's CPUID answers, recorded in the cache's directory for the
//! next tern started from outside (a tern that a guest `execve` starts is
//! handed them, `--host-cpuid`). Under a hypervisor each `cpuid` traps,
//! 12-20 us on an Intel host under Firecracker, and a tern asks the host
//! about 20 of them (the model's features, XSAVE sizes, the leaves its
//! guest asks): a few tenths of a millisecond of every top-level start.
//!
//! A record is used only where it must still hold: on the same boot (the
//! kernel's boot id: a reboot may bring another CPU, microcode, or kernel
//! options that hide features) and when the host answers leaf 1 (the
//! signature and feature bits) as recorded, asked once. It is written at
//! a process's end when the process asked the host something it did not
//! say, whole and renamed into place.

use crate::model;
use std::path::Path;

/// The record's file name in the cache directory (beside the per-binary
/// directories, which every tern binary and option set shares).
const NAME: &str = "host-cpuid";
const MAGIC: &str = "tern host cpuid 1";
/// The record's last line: a record without it was cut short.
const END: &str = "end";

/// The kernel's id of this boot.
fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(id.trim().to_owned())
}

/// Seeds the model's host answers from the record in `dir`, if there is
/// one that holds for this boot and this CPU: true if it was used.
pub fn load(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join(NAME)) else { return false };
    let Some(boot) = boot_id() else { return false };
    match usable(&text, &boot, model::host_cpuid_leaf1) {
        Some(answers) => model::seed_host_cpuid(answers).is_ok(),
        None => false,
    }
}

/// The answers of record `text` if it is well formed, of boot `boot`, and
/// its leaf 1 is what `leaf1` (the host, asked) gives.
fn usable<'a>(text: &'a str, boot: &str, leaf1: impl FnOnce() -> [u32; 4]) -> Option<&'a str> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC || lines.next()?.strip_prefix("boot ")? != boot {
        return None;
    }
    let answers = lines.next()?;
    // A torn record (cut inside its answers) may still parse: the last
    // answer a number short.
    if lines.next()? != END {
        return None;
    }
    let parsed = model::parse_answers(answers)?;
    let (_, recorded) = parsed.iter().find(|(k, _)| *k == (1, 0))?;
    same_leaf1(*recorded, leaf1()).then_some(answers)
}

/// Leaf 1 compared without EBX's bits 31-24: the initial APIC ID of the
/// CPU that ran the `cpuid`, which differs from one to the next.
fn same_leaf1(a: [u32; 4], b: [u32; 4]) -> bool {
    let mask = [!0, 0x00ff_ffff, !0, !0];
    (0..4).all(|i| a[i] & mask[i] == b[i] & mask[i])
}

/// The record of `answers` (a `model::host_cpuid_handover` string) for
/// boot `boot`.
fn render(boot: &str, answers: &str) -> String {
    format!("{MAGIC}\nboot {boot}\n{answers}\n{END}\n")
}

/// Records the host's answers in `dir` if this process learned any that
/// its seed lacked. Failures are silent: the record only saves time.
pub fn save(dir: &Path) {
    if !model::host_cpuid_learned() {
        return;
    }
    if let Some(boot) = boot_id() {
        let _ = super::store::replace_file(
            &dir.join(NAME),
            render(&boot, &model::host_cpuid_handover()).as_bytes(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF1: [u32; 4] = [0x806f8, 0x0180_0800, 0x7ffa_fbff, 0xbfeb_fbff];
    const ANSWERS: &str = "0.0=1f.756e6547.6c65746e.49656e69 1.0=806f8.1800800.7ffafbff.bfebfbff";

    #[test]
    fn a_record_holds_for_its_boot_and_cpu_only() {
        let text = render("b00t", ANSWERS);
        assert_eq!(usable(&text, "b00t", || LEAF1), Some(ANSWERS));
        // Another CPU ran the check: another APIC ID, the same CPU model.
        assert_eq!(usable(&text, "b00t", || [LEAF1[0], 0x0380_0800, LEAF1[2], LEAF1[3]]), Some(ANSWERS));
        assert_eq!(usable(&text, "reboot", || LEAF1), None);
        // Cut inside its last answer: every answer still parses.
        let torn = &text[..text.len() - 6];
        assert!(model::parse_answers(torn.lines().nth(2).unwrap()).is_some());
        assert_eq!(usable(torn, "b00t", || LEAF1), None);
        for other in
            [[0x806f7, LEAF1[1], LEAF1[2], LEAF1[3]], [LEAF1[0], LEAF1[1], LEAF1[2] & !(1 << 28), LEAF1[3]]]
        {
            assert_eq!(usable(&text, "b00t", || other), None, "{other:x?}");
        }
    }

    #[test]
    fn damaged_records_are_not_used() {
        let good = render("b00t", ANSWERS);
        let no_leaf1 = render("b00t", "0.0=1f.756e6547.6c65746e.49656e69");
        let bad_hex = render("b00t", "0.0=1f.zz.0.0 1.0=806f8.1800800.7ffafbff.bfebfbff");
        let cases = [
            String::new(),
            good.replace(MAGIC, "tern host cpuid 0"),
            good.lines().take(2).collect::<Vec<_>>().join("\n"),
            no_leaf1,
            bad_hex,
            good[..good.len() / 2].to_owned(),
        ];
        for text in &cases {
            assert_eq!(usable(text, "b00t", || LEAF1), None, "{text:?}");
        }
    }
}
