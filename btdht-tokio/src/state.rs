//! The state file: read at start, written through a temporary file and a rename.

use crate::Error;
use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The state file's bytes, `None` if there is none yet (a first start).
pub(crate) async fn read(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let owned = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || std::fs::read(owned))
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)));
    match read {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::StateIo {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one,
/// never a torn one: into `path.tmp` beside it, flushed to disk, then renamed over
/// `path`.
pub(crate) async fn write(path: &Path, bytes: Vec<u8>) -> Result<(), Error> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || write_atomic(&owned, &bytes))
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
        .map_err(|source| Error::StateIo {
            path: path.to_path_buf(),
            source,
        })
}

/// `path` with `.tmp` appended to its file name.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temporary(path);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename itself is durable once the directory is flushed too (Unix; elsewhere,
    // or if the directory cannot be opened, the rename is left to the OS).
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_file_sits_beside_the_state_file() {
        assert_eq!(
            temporary(Path::new("/var/lib/dht/node.state")),
            Path::new("/var/lib/dht/node.state.tmp")
        );
        assert_eq!(temporary(Path::new("state")), Path::new("state.tmp"));
    }
}
