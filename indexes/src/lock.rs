//! Exclusive access to one index generation for writing, across threads and processes.
//!
//! `ragd serve` and `ragd worker` processes may write the same dataset's indexes. A write changes
//! two stores (LanceDB and tantivy) that must apply writes in the same order, and switching a
//! dataset between keyword-only and vector indexing adds or removes its vector table; both need
//! one writer at a time. The lock is an advisory lock (`flock`) on `<generation dir>/write.lock`:
//! the operating system releases it when its holder exits or is killed, so a crashed process
//! never leaves a dataset locked. Locks taken through different open files exclude each other
//! even within one process; the tokio mutex in front only queues this process's writers without
//! polling.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, MutexGuard};

use crate::IndexError;

/// File in a generation directory whose lock guards writes to that generation.
pub const LOCK_FILE: &str = "write.lock";
/// How long a writer waits for another one to finish before giving up.
pub const WRITE_LOCK_TIMEOUT: Duration = Duration::from_secs(60);
const RETRY_FIRST: Duration = Duration::from_millis(2);
const RETRY_MAX: Duration = Duration::from_millis(100);

/// The write lock of one generation directory.
pub(crate) struct GenerationLock {
    path: PathBuf,
    local: Mutex<()>,
}

/// Held while writing; dropping it releases the lock.
pub(crate) struct GenerationGuard<'a> {
    _local: MutexGuard<'a, ()>,
    _file: File,
}

impl GenerationLock {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(LOCK_FILE),
            local: Mutex::new(()),
        }
    }

    /// Waits (without blocking a thread) until this caller is the only writer of the generation,
    /// for at most [`WRITE_LOCK_TIMEOUT`].
    pub(crate) async fn lock(&self) -> Result<GenerationGuard<'_>, IndexError> {
        let local = self.local.lock().await;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)?;
        let started = Instant::now();
        let mut pause = RETRY_FIRST;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(GenerationGuard {
                        _local: local,
                        _file: file,
                    });
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < WRITE_LOCK_TIMEOUT => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(RETRY_MAX);
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(IndexError::Busy(format!(
                        "another process held {} for more than {}s",
                        self.path.display(),
                        WRITE_LOCK_TIMEOUT.as_secs()
                    )));
                }
                Err(TryLockError::Error(err)) => return Err(err.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_lock_keeps_other_open_files_out_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let lock = GenerationLock::new(dir.path());
        let held = lock.lock().await.unwrap();
        // Another open file of the lock, as another process would have.
        let other = OpenOptions::new()
            .write(true)
            .open(dir.path().join(LOCK_FILE))
            .unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(held);
        other.try_lock().unwrap();
        drop(other);
        // And a second lock value (another process's index) gets in once the first lets go.
        let second = GenerationLock::new(dir.path());
        let held = lock.lock().await.unwrap();
        let waiting = tokio::spawn(async move { second.lock().await.map(|_| ()) });
        drop(held);
        waiting.await.unwrap().unwrap();
    }
}
