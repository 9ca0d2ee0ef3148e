//! Which file an object comes from: opening it, knowing it again, reading it.
//!
//! Owns [`FileId`] (a file's identity, `st_dev` and `st_ino`: how the loader and
//! the facade's registry recognise an object already loaded under another name)
//! and [`OpenFile`], an opened and identified regular file, whether it was found
//! on disk or made from bytes in memory (`memfd_create`). It does not parse or
//! map anything; `module` does.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, MemfdFlags, Mode, OFlags};

use crate::error::{Error, ErrorKind, Result};

/// The identity of a file: its device and inode numbers. Two paths that name the
/// same file (hard links, symbolic links, `..`) have the same identity.
///
/// ```
/// let id = staticdl_loader::FileId::of("/").expect("the root exists");
/// assert_eq!(id, staticdl_loader::FileId::of("/.").unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `path` names (following symbolic links).
    ///
    /// ```
    /// assert!(staticdl_loader::FileId::of("/no/such/file").is_err());
    /// ```
    pub fn of(path: impl AsRef<Path>) -> std::io::Result<FileId> {
        let st = rustix::fs::stat(path.as_ref())?;
        Ok(FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }
}

/// An opened regular file, not yet mapped.
pub(crate) struct OpenFile {
    /// The name the object is known by: its path on disk, or the name given to
    /// bytes loaded from memory.
    pub path: PathBuf,
    /// The directory `$ORIGIN` expands to; `None` for an object made from bytes,
    /// which has no directory (search-path entries using `$ORIGIN` are skipped).
    pub origin: Option<PathBuf>,
    pub fd: OwnedFd,
    pub id: FileId,
    pub size: u64,
}

impl OpenFile {
    /// Open `path` read-only and identify it.
    pub fn open(path: &Path) -> Result<OpenFile> {
        let io = |e: rustix::io::Errno| Error::new(path, ErrorKind::Io(e.into()));
        // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; a
        // regular file, the only kind accepted below, ignores the flag.
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(io)?;
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind != FileType::RegularFile {
            let what = match kind {
                FileType::Directory => "a directory",
                FileType::Fifo => "a FIFO",
                FileType::Socket => "a socket",
                FileType::CharacterDevice => "a character device",
                FileType::BlockDevice => "a block device",
                _ => "not a regular file",
            };
            return Err(Error::new(path, ErrorKind::NotRegularFile { what }));
        }
        Ok(OpenFile {
            path: path.to_path_buf(),
            origin: Some(path.parent().unwrap_or(Path::new("/")).to_path_buf()),
            fd,
            id: FileId {
                dev: st.st_dev,
                ino: st.st_ino,
            },
            size: st.st_size as u64,
        })
    }

    /// An anonymous file (`memfd_create`) holding `bytes`, known as `name`.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<OpenFile> {
        let io = |e: rustix::io::Errno| Error::new(name, ErrorKind::Io(e.into()));
        // The kernel limits memfd names to 249 bytes and refuses NUL; the name
        // shown in /proc is cosmetic, the loader keeps the full one.
        let short: String = name
            .chars()
            .filter(|&c| c != '\0')
            .scan(0usize, |len, c| {
                *len += c.len_utf8();
                (*len <= 200).then_some(c)
            })
            .collect();
        let fd = rustix::fs::memfd_create(short.as_str(), MemfdFlags::CLOEXEC).map_err(io)?;
        let mut done = 0;
        while done < bytes.len() {
            done += rustix::io::write(&fd, &bytes[done..]).map_err(io)?;
        }
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        Ok(OpenFile {
            path: PathBuf::from(name),
            origin: None,
            fd,
            id: FileId {
                dev: st.st_dev,
                ino: st.st_ino,
            },
            size: st.st_size as u64,
        })
    }

    /// Read `len` bytes at `offset`, short only at end of file.
    pub fn read_at(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let mut done = 0;
        while done < len {
            let n = rustix::io::pread(self.fd.as_fd(), &mut buf[done..], offset + done as u64)
                .map_err(|e| Error::new(&self.path, ErrorKind::Io(e.into())))?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf)
    }
}
