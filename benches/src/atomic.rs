//! Replacing files atomically: the new contents go to a temporary file in the
//! same directory, which is then renamed over the old one, so that a run
//! killed while saving leaves either the previous file or the new one, never
//! a torn one.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Replaces `path` with what `write` writes into the temporary file it is given.
pub fn replace(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = temporary(path);
    let written = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Replaces `path` with `contents`.
pub fn write(path: &Path, contents: &[u8]) -> Result<()> {
    replace(path, |tmp| std::fs::write(tmp, contents).with_context(|| format!("writing {}", tmp.display())))
}

/// `dir/.name.tmp-<pid>`, next to `dir/name`.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_files_and_cleans_up_after_errors() {
        let dir = std::env::temp_dir().join(format!("tern-bench-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.json");
        write(&path, b"old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let failed = replace(&path, |tmp| {
            std::fs::write(tmp, b"half")?;
            anyhow::bail!("killed")
        });
        assert!(failed.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "temporary file left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
