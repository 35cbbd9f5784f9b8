//! ragd: limits on what decoding may do while one document is parsed on the current thread.
//!
//! Upstream inflates every stream fully in memory, so a small file whose streams inflate to many
//! gigabytes (a decompression bomb) takes the whole process down. Inside a [`scope`], every
//! decode (`Stream::decompressed_content`, and `Stream::decompress` through it) is charged to one
//! budget for the document, and no decode may produce more than what is left of it: the output
//! buffer stops growing at that size instead of the decode finishing first. Repeated decodes of
//! the same stream are charged each time, so the budget bounds both the memory decoded data can
//! take (whatever a reader keeps or copies of it) and the work spent decoding.
//!
//! A refused decode fails with `DecompressError::LimitExceeded`, and [`exceeded`] stays set for
//! the rest of the scope, because callers often swallow decode errors. Decoders also stop (with
//! `DecompressError::Cancelled`) once the scope's cancel flag is raised, checked every MiB of
//! output; [`cancelled`] lets content-stream interpreters stop too.
//!
//! The state is thread-local: a document must be parsed on the thread that opened the scope,
//! which holds as long as the `rayon` feature (parallel object loading) is off. Outside a scope
//! nothing is limited, as upstream.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone)]
struct State {
    limit: u64,
    remaining: u64,
    exceeded: bool,
    cancel: Arc<AtomicBool>,
}

thread_local! {
    static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

/// Restores the previous limits (usually none) when dropped.
#[must_use = "the limits apply only while the guard lives"]
pub struct ScopeGuard {
    previous: Option<State>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        STATE.with(|state| *state.borrow_mut() = previous);
    }
}

/// Limits decoding on this thread to `max_decoded_bytes` for one document until the guard is
/// dropped; `cancel` raised makes decoders stop early.
pub fn scope(max_decoded_bytes: u64, cancel: Arc<AtomicBool>) -> ScopeGuard {
    let new = State {
        limit: max_decoded_bytes,
        remaining: max_decoded_bytes,
        exceeded: false,
        cancel,
    };
    let previous = STATE.with(|state| state.borrow_mut().replace(new));
    ScopeGuard { previous }
}

/// The scope's budget if some decode in it was refused for exceeding it.
pub fn exceeded() -> Option<u64> {
    STATE.with(|state| state.borrow().as_ref().filter(|s| s.exceeded).map(|s| s.limit))
}

/// Whether the scope's cancel flag is raised (false outside a scope).
pub fn cancelled() -> bool {
    STATE.with(|state| state.borrow().as_ref().is_some_and(|s| s.cancel.load(Ordering::Relaxed)))
}

/// Bytes one decode may produce now (unbounded outside a scope).
pub(crate) fn allowance() -> u64 {
    STATE.with(|state| state.borrow().as_ref().map_or(u64::MAX, |s| s.remaining))
}

/// Marks the scope as exceeded.
pub(crate) fn refuse() {
    STATE.with(|state| {
        if let Some(state) = state.borrow_mut().as_mut() {
            state.exceeded = true;
        }
    });
}

/// Charges `bytes` of decoded data to the budget; false (and exceeded) if they do not fit.
pub(crate) fn charge(bytes: u64) -> bool {
    STATE.with(|state| match state.borrow_mut().as_mut() {
        None => true,
        Some(state) if bytes <= state.remaining => {
            state.remaining -= bytes;
            true
        }
        Some(state) => {
            state.exceeded = true;
            false
        }
    })
}

/// An output buffer that refuses to grow past `limit` and stops when the scope is cancelled;
/// decoders write into it.
pub(crate) struct BoundedOutput {
    pub(crate) data: Vec<u8>,
    limit: u64,
}

/// Why a bounded decode stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    LimitExceeded,
    Cancelled,
}

impl BoundedOutput {
    pub(crate) fn new(capacity_hint: usize) -> Self {
        let limit = allowance();
        let capacity = capacity_hint.min(usize::try_from(limit).unwrap_or(usize::MAX)).min(64 << 20);
        BoundedOutput {
            data: Vec::with_capacity(capacity),
            limit,
        }
    }

    /// Whether `more` bytes still fit; refuses (marks the scope exceeded) when not.
    pub(crate) fn room_for(&self, more: usize) -> Result<(), Stop> {
        if (self.data.len() as u64).saturating_add(more as u64) > self.limit {
            refuse();
            return Err(Stop::LimitExceeded);
        }
        Ok(())
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.room_for(bytes.len())?;
        self.data.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn push(&mut self, byte: u8) -> Result<(), Stop> {
        self.room_for(1)?;
        self.data.push(byte);
        Ok(())
    }

    /// Reads `reader` to its end in 1 MiB steps, checking the limit and the cancel flag between
    /// steps. An I/O error of the reader is returned as `Ok(Err(_))`, keeping what was read (as
    /// upstream keeps the output of a truncated stream).
    pub(crate) fn read_from<R: std::io::Read>(&mut self, mut reader: R) -> Result<std::io::Result<()>, Stop> {
        const STEP: u64 = 1 << 20;
        loop {
            if cancelled() {
                return Err(Stop::Cancelled);
            }
            let room = self.limit.saturating_sub(self.data.len() as u64);
            // One byte past the room tells a stream that ends exactly at the limit from one that goes on.
            let step = STEP.min(room.saturating_add(1));
            let read = match std::io::Read::read_to_end(&mut std::io::Read::take(std::io::Read::by_ref(&mut reader), step), &mut self.data) {
                Ok(read) => read,
                Err(error) => return Ok(Err(error)),
            };
            if self.data.len() as u64 > self.limit {
                self.data.truncate(self.limit as usize);
                refuse();
                return Err(Stop::LimitExceeded);
            }
            if read == 0 {
                return Ok(Ok(()));
            }
        }
    }
}

impl std::io::Write for BoundedOutput {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if cancelled() {
            return Err(std::io::Error::other("decoding cancelled"));
        }
        self.extend(buf)
            .map_err(|_| std::io::Error::other("decoded size limit exceeded"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_scope_nothing_is_limited() {
        assert_eq!(allowance(), u64::MAX);
        assert!(charge(u64::MAX));
        assert_eq!(exceeded(), None);
        assert!(!cancelled());
    }

    #[test]
    fn charges_count_against_the_budget_and_refusal_sticks() {
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let _guard = scope(100, cancel.clone());
            assert!(charge(60));
            assert_eq!(allowance(), 40);
            assert_eq!(exceeded(), None);
            assert!(!charge(41));
            assert_eq!(exceeded(), Some(100));
            cancel.store(true, Ordering::Relaxed);
            assert!(cancelled());
        }
        assert_eq!(allowance(), u64::MAX);
        assert_eq!(exceeded(), None);
    }

    #[test]
    fn bounded_reads_stop_at_the_limit() {
        let _guard = scope(10, Arc::new(AtomicBool::new(false)));
        let mut exact = BoundedOutput::new(0);
        assert!(matches!(exact.read_from(&[1u8; 10][..]), Ok(Ok(()))));
        assert_eq!(exact.data.len(), 10);
        assert_eq!(exceeded(), None);
        let mut over = BoundedOutput::new(0);
        assert_eq!(over.read_from(&[1u8; 11][..]).err(), Some(Stop::LimitExceeded));
        assert_eq!(exceeded(), Some(10));
    }
}
