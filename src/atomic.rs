//! Writing a file so that no reader ever sees half of it: into a temporary file beside it,
//! synced, then renamed over it. A write that fails leaves the previous file as it was and no
//! temporary file behind.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

/// Why [`write`] failed: the file itself, or what `fill` said.
#[derive(Debug)]
pub enum Error<E> {
    Io(io::Error),
    Fill(E),
}

/// Creates `path`'s folder if needed, lets `fill` write the contents, and puts them in place
/// at once.
pub fn write<T, E>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> Result<T, E>,
) -> Result<T, Error<E>> {
    let (temp, file) = TempFile::create(path).map_err(Error::Io)?;
    let mut out = BufWriter::new(file);
    let done = fill(&mut out).map_err(Error::Fill)?;
    out.flush().map_err(Error::Io)?;
    let file = out.into_inner().map_err(|e| Error::Io(e.into_error()))?;
    file.sync_all().map_err(Error::Io)?;
    drop(file);
    temp.persist().map_err(Error::Io)?;
    Ok(done)
}

/// A file being written beside its final path; removed on drop unless [`TempFile::persist`]
/// renamed it into place.
#[derive(Debug)]
struct TempFile {
    temp: PathBuf,
    target: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Creates the folder of `target` if needed, and a new hidden file beside `target`.
    fn create(target: &Path) -> io::Result<(TempFile, File)> {
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        // Unique per process and instant, so two exports never share a temp file.
        let temp = dir.join(format!(
            ".{}.{}-{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            Timestamp::now().as_nanosecond()
        ));
        let file = File::options().write(true).create_new(true).open(&temp)?;
        let guard = TempFile {
            temp,
            target: target.to_owned(),
            persisted: false,
        };
        Ok((guard, file))
    }

    /// Renames the (closed, synced) temp file over the target.
    fn persist(mut self) -> io::Result<()> {
        fs::rename(&self.temp, &self.target)?;
        self.persisted = true;
        // The rename is durable once the folder is synced.
        #[cfg(unix)]
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.temp);
        }
    }
}
