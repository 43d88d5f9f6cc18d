//! The one counting allocator of the tests, the benches and examples/simulate.rs. It
//! forwards to the system allocator and counts two things:
//! - allocations made by the calling thread ([`allocations_during`]), for the
//!   zero-allocation tests, which the harness's other threads must not disturb;
//! - heap bytes live in the whole process and their peak ([`live`], [`peak`]), for the
//!   flood test's heap budget and the memory figures of the store and routing benches and
//!   of the simulator.
//!
//! A test binary installs it from the common module,
//! `#[global_allocator] static A: common::counting::Counting = common::counting::Counting;`;
//! a bench includes this file with `#[path]` and installs it the same way. The counts
//! mean something only in a binary that installs it.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations this thread has made (a reallocation counts as one).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts. `realloc` and
// `alloc_zeroed` keep their default bodies, which go through `alloc` and `dealloc`: a
// reallocation counts as one allocation and its bytes are tracked.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the number of allocations the calling thread
/// made meanwhile.
pub fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    (r, ALLOCATIONS.with(Cell::get) - before)
}

/// Heap bytes allocated and not yet freed, by every thread.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The most `live()` has been.
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from what is live now.
pub fn reset_peak() {
    PEAK.store(live(), Ordering::Relaxed);
}
