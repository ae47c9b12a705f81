//! The one opener for untrusted files. Only a regular file is read (after resolving symlinks;
//! a FIFO, a device such as `/dev/zero`, a socket or a folder is refused without blocking), its
//! size is checked against a limit before any byte is read, and a file discovered inside a
//! folder (a lockfile in `--project`) must resolve inside that folder: no symlink out, no `..`.

use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::artifact::human_size;

/// Lockfiles, manifests, README files, JSON reports: far larger than any real one.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;
/// Audit configurations.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Why a file was not read. The message does not name the file: callers prefix it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file ({0}); only regular files are read")]
    NotRegular(&'static str),
    #[error("{} exceeds the limit of {}", human_size(*size), human_size(*limit))]
    TooLarge { size: u64, limit: u64 },
    #[error("resolves outside {root} (a symlink or `..` leading out of the folder); not read")]
    Escapes { root: String },
    #[error("not UTF-8 text")]
    NotUtf8,
}

/// What kind of non-regular file `metadata` describes.
fn kind(metadata: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = metadata.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if metadata.is_dir() { "a directory" } else { "not a plain file" }
}

/// Opens `path` for reading when it is a regular file of at most `limit` bytes. A FIFO is
/// opened non-blocking, so a FIFO with no writer never hangs the open; the type is then taken
/// from the open descriptor, so a file swapped after a check is still refused.
pub fn open(path: &Path, limit: u64) -> Result<(File, u64), OpenError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(OpenError::NotRegular(kind(&metadata)));
    }
    if metadata.len() > limit {
        return Err(OpenError::TooLarge { size: metadata.len(), limit });
    }
    Ok((file, metadata.len()))
}

/// Reads a regular file of at most `limit` bytes (a file that grows past the limit while
/// being read is refused too).
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, OpenError> {
    let (file, size) = open(path, limit)?;
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(OpenError::TooLarge { size: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 text file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, OpenError> {
    String::from_utf8(read(path, limit)?).map_err(|_| OpenError::NotUtf8)
}

/// Where `path` really is, when it lies inside `root` once every symlink is resolved and has
/// no `..` component below `root` (`root` itself may be `../project`).
pub fn contain(root: &Path, path: &Path) -> Result<PathBuf, OpenError> {
    let escapes = || OpenError::Escapes { root: root.display().to_string() };
    let below_root = path.strip_prefix(root).unwrap_or(path);
    if below_root.components().any(|c| c == Component::ParentDir) {
        return Err(escapes());
    }
    let real_root = root.canonicalize()?;
    let real = path.canonicalize()?;
    if real.starts_with(&real_root) { Ok(real) } else { Err(escapes()) }
}

/// Reads a file found inside `root` (a tensor of a test data set): contained, regular, at most
/// `limit` bytes.
pub fn read_within(root: &Path, path: &Path, limit: u64) -> Result<Vec<u8>, OpenError> {
    let real = contain(root, path)?;
    read(&real, limit)
}

/// Reads a text file found inside `root` (a lockfile in `--project`): contained, regular,
/// at most `limit` bytes.
pub fn read_text_within(root: &Path, path: &Path, limit: u64) -> Result<String, OpenError> {
    let real = contain(root, path)?;
    read_text(&real, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_folders_and_fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read(Path::new("/dev/zero"), 10), Err(OpenError::NotRegular("a character device"))));
        assert!(matches!(read(dir.path(), 10), Err(OpenError::NotRegular("a directory"))));
        let fifo = dir.path().join("fifo");
        let name = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        assert!(matches!(read(&fifo, 10), Err(OpenError::NotRegular("a FIFO"))));
    }

    #[test]
    fn the_size_limit_applies_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read(&file, 10).unwrap(), b"0123456789");
        assert_eq!(read(&file, 9).unwrap_err().to_string(), "10 B exceeds the limit of 9 B");
    }

    #[test]
    fn symlinks_out_of_the_folder_and_dotdot_are_refused() {
        let outer = tempfile::tempdir().unwrap();
        let dir = outer.path().join("project");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(outer.path().join("secret"), "s").unwrap();
        std::fs::write(dir.join("inside"), "i").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret"), dir.join("out")).unwrap();
        std::os::unix::fs::symlink(dir.join("inside"), dir.join("in")).unwrap();
        assert_eq!(read_text_within(&dir, &dir.join("in"), 10).unwrap(), "i");
        assert!(matches!(read_text_within(&dir, &dir.join("out"), 10), Err(OpenError::Escapes { .. })));
        assert!(matches!(read_text_within(&dir, &dir.join("../secret"), 10), Err(OpenError::Escapes { .. })));
        // A folder named through `..` (`--project ../project`) holds its own files, not the ones
        // a `..` below it reaches.
        let relative = dir.join("../project");
        assert_eq!(read_text_within(&relative, &relative.join("inside"), 10).unwrap(), "i");
        assert!(matches!(read_text_within(&relative, &relative.join("../secret"), 10), Err(OpenError::Escapes { .. })));
    }
}
