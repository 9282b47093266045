//! Memory, measured and computed (chapter 7's PPO-versus-GRPO comparison).
//!
//! - [`PeakAlloc`]: a global allocator that counts the bytes the program holds on the
//!   heap and their peak. A chapter binary registers it with `#[global_allocator]`;
//!   candle's CPU tensors live on the heap, so [`measure_peak`] sees every weight,
//!   optimizer state, activation and gradient a piece of work allocates.
//! - [`training_state_bytes`]: the part that follows from the shapes alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};

/// Whether a measurement is under way: only then are bytes counted, so a binary that
/// registers [`PeakAlloc`] allocates exactly as with the system allocator otherwise.
static ARMED: AtomicBool = AtomicBool::new(false);
/// Set by the first allocation through [`PeakAlloc`]: it is the global allocator.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since the measurement began (negative when more
/// was freed than allocated), and its high-water mark.
static CURRENT: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting live heap bytes and their high-water mark while a
/// [`measure_peak`] runs.
pub struct PeakAlloc;

fn grew(bytes: usize) {
    if ARMED.load(Ordering::Relaxed) {
        let now = CURRENT.fetch_add(bytes as isize, Ordering::Relaxed) + bytes as isize;
        PEAK.fetch_max(now, Ordering::Relaxed);
    } else if !INSTALLED.load(Ordering::Relaxed) {
        INSTALLED.store(true, Ordering::Relaxed);
    }
}

fn shrank(bytes: usize) {
    if ARMED.load(Ordering::Relaxed) {
        CURRENT.fetch_sub(bytes as isize, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed to `System` unchanged; only counters are updated.
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// Runs `work` and returns its result with the peak of live heap bytes during it, above
/// the bytes live when it started; `None` when [`PeakAlloc`] is not the global allocator.
/// Only meaningful while nothing else in the process allocates (run it on its own).
pub fn measure_peak<T>(work: impl FnOnce() -> T) -> (T, Option<usize>) {
    CURRENT.store(0, Ordering::Relaxed);
    PEAK.store(0, Ordering::Relaxed);
    ARMED.store(true, Ordering::SeqCst);
    let out = work();
    ARMED.store(false, Ordering::SeqCst);
    let peak = PEAK.load(Ordering::Relaxed).max(0) as usize;
    (out, INSTALLED.load(Ordering::Relaxed).then_some(peak))
}

/// Bytes of the training state in f32, from the shapes alone (eq. 7): the weights of
/// every model held (`held` parameters: trained and frozen) plus, for each trained
/// parameter, its gradient and AdamW's two moments.
pub fn training_state_bytes(held: usize, trained: usize) -> usize {
    4 * (held + 3 * trained)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_bytes_by_hand() {
        // GRPO on the 408,704-parameter base: actor + reference held, the actor trained.
        assert_eq!(training_state_bytes(2 * 408_704, 408_704), 4 * 5 * 408_704);
        assert_eq!(training_state_bytes(10, 0), 40);
    }
}
