//! The one counting allocator of the tests, the benches and examples/simulate.rs. It
//! forwards to the system allocator and counts three things:
//! - allocations made by the calling thread ([`allocations_during`]), for the
//!   zero-allocation tests, which the harness's other threads must not disturb;
//! - heap bytes live in the whole process and their peak ([`live`], [`peak`]), for the
//!   flood test's heap budget and the memory figures of the store and routing benches and
//!   of the simulator;
//! - bytes allocated minus bytes freed by the calling thread, and the most that has been
//!   since a reset ([`thread_live`], [`thread_peak`]), for measuring one node among
//!   others on the same thread (tests/node_small_heap.rs): a delta taken around a call
//!   counts that call alone, whatever the harness's other threads do.
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

/// What one thread has done.
struct Thread {
    /// Allocations this thread has made (a reallocation counts as one).
    allocations: Cell<usize>,
    /// Bytes this thread allocated minus bytes it freed (negative when it frees memory
    /// another thread allocated).
    live: Cell<isize>,
    /// The most `live` has been since [`reset_thread_peak`].
    peak: Cell<isize>,
}

thread_local! {
    static THREAD: Thread = const {
        Thread {
            allocations: Cell::new(0),
            live: Cell::new(0),
            peak: Cell::new(0),
        }
    };
}

// SAFETY: forwards to the system allocator unchanged; only counts. `realloc` and
// `alloc_zeroed` keep their default bodies, which go through `alloc` and `dealloc`: a
// reallocation counts as one allocation and its bytes are tracked.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = THREAD.try_with(|t| {
            t.allocations.set(t.allocations.get() + 1);
            let live = t.live.get() + layout.size() as isize;
            t.live.set(live);
            t.peak.set(t.peak.get().max(live));
        });
        let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = THREAD.try_with(|t| t.live.set(t.live.get() - layout.size() as isize));
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the number of allocations the calling thread
/// made meanwhile.
pub fn allocations_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = THREAD.with(|t| t.allocations.get());
    let r = f();
    (r, THREAD.with(|t| t.allocations.get()) - before)
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

/// Bytes the calling thread allocated minus bytes it freed, since it started.
pub fn thread_live() -> isize {
    THREAD.with(|t| t.live.get())
}

/// The most [`thread_live`] has been since [`reset_thread_peak`].
pub fn thread_peak() -> isize {
    THREAD.with(|t| t.peak.get())
}

/// Starts a new peak measurement for the calling thread from its [`thread_live`] now.
pub fn reset_thread_peak() {
    THREAD.with(|t| t.peak.set(t.live.get()));
}
