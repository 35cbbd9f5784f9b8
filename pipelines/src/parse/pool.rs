//! The bound on parses running at once in a process.
//!
//! Every parse that a server runs (indexing, and the parses its API triggers: file previews,
//! indexing estimates, chat attachments) takes a slot of one [`ParsePool`] for as long as its
//! parser thread runs, which is longer than the caller waits when the parse times out: a parser
//! that is still winding down after a timeout keeps its slot, so abandoned parsers cannot pile up
//! threads. Indexing waits for a slot ([`ParsePool::acquire`]); API requests must not queue
//! behind it and take one only if it is free ([`ParsePool::try_acquire`]).

use std::sync::{Arc, Condvar, Mutex, PoisonError};

/// A counting semaphore of parse slots; clones share the slots.
#[derive(Debug, Clone)]
pub struct ParsePool {
    inner: Arc<Slots>,
}

#[derive(Debug)]
struct Slots {
    total: usize,
    busy: Mutex<usize>,
    freed: Condvar,
}

/// One slot of a [`ParsePool`], given back when dropped.
#[derive(Debug)]
pub struct ParsePermit {
    slots: Arc<Slots>,
}

impl ParsePool {
    /// A pool of `slots` parses at once (at least one).
    pub fn new(slots: usize) -> Self {
        Self {
            inner: Arc::new(Slots {
                total: slots.max(1),
                busy: Mutex::new(0),
                freed: Condvar::new(),
            }),
        }
    }

    /// How many parses may run at once.
    pub fn slots(&self) -> usize {
        self.inner.total
    }

    /// How many slots are taken now.
    pub fn busy(&self) -> usize {
        *self.inner.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A free slot, or None at once when all are taken.
    pub fn try_acquire(&self) -> Option<ParsePermit> {
        let mut busy = self.inner.busy.lock().unwrap_or_else(PoisonError::into_inner);
        if *busy >= self.inner.total {
            return None;
        }
        *busy += 1;
        Some(self.permit())
    }

    /// A slot, waiting (blocking the thread) until one is free.
    pub fn acquire(&self) -> ParsePermit {
        let mut busy = self.inner.busy.lock().unwrap_or_else(PoisonError::into_inner);
        while *busy >= self.inner.total {
            busy = self
                .inner
                .freed
                .wait(busy)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *busy += 1;
        self.permit()
    }

    fn permit(&self) -> ParsePermit {
        ParsePermit {
            slots: Arc::clone(&self.inner),
        }
    }
}

impl Drop for ParsePermit {
    fn drop(&mut self) {
        let mut busy = self.slots.busy.lock().unwrap_or_else(PoisonError::into_inner);
        *busy -= 1;
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn slots_are_counted_and_given_back() {
        let pool = ParsePool::new(2);
        let first = pool.try_acquire().expect("a free slot");
        let second = pool.try_acquire().expect("a second free slot");
        assert_eq!(pool.busy(), 2);
        assert!(pool.try_acquire().is_none(), "the pool is full");
        drop(first);
        assert_eq!(pool.busy(), 1);
        let third = pool.try_acquire().expect("the freed slot");
        drop((second, third));
        assert_eq!(pool.busy(), 0);
        assert_eq!(ParsePool::new(0).slots(), 1);
    }

    #[test]
    fn acquire_waits_for_a_slot() {
        let pool = ParsePool::new(1);
        let held = pool.acquire();
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let _permit = pool.acquire();
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !waiter.is_finished(),
            "the waiter must wait while the slot is held"
        );
        drop(held);
        waiter.join().unwrap();
        assert_eq!(pool.busy(), 0);
    }
}
