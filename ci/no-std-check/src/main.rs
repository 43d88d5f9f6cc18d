//! Proof that btdht builds and links without `std`: a `#![no_std]`, `#![no_main]` binary
//! with its own panic handler and allocator. If anything in btdht's dependency tree pulls
//! in `std`, linking fails with a duplicate `panic_impl` lang item.

#![no_std]
#![no_main]

extern crate alloc;

use btdht::bencode::Value;
use btdht::krpc::Message;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::hint::black_box;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A bump allocator over a static arena; never frees. Enough for a link check.
struct Bump {
    arena: UnsafeCell<[u8; 1 << 20]>,
    next: AtomicUsize,
}

// SAFETY: allocations hand out disjoint ranges of the arena (atomic bump pointer).
unsafe impl Sync for Bump {}

// SAFETY: returns suitably aligned, disjoint, in-bounds pointers or null.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut start = 0;
        let ok = self
            .next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |next| {
                start = next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
                let end = start.checked_add(layout.size())?;
                (end <= 1 << 20).then_some(end)
            });
        match ok {
            // SAFETY: start + size <= arena length, checked above.
            Ok(_) => unsafe { (self.arena.get() as *mut u8).add(start) },
            Err(_) => core::ptr::null_mut(),
        }
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    arena: UnsafeCell::new([0; 1 << 20]),
    next: AtomicUsize::new(0),
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[link(name = "c")]
unsafe extern "C" {}

static PING: &[u8] = b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    let mut buf = [0u8; 256];
    let Ok(msg) = Message::decode(black_box(PING)) else {
        return 1;
    };
    let Ok(n) = msg.encode(&mut buf) else {
        return 2;
    };
    let Ok(value) = Value::decode(black_box(&buf[..n])) else {
        return 3;
    };
    let mut out = [0u8; 256];
    if value.encode(&mut out) != Ok(n) {
        return 4;
    }
    let id = btdht::Id::from_bytes([1; 20]);
    let d = id.distance(&btdht::Id::from_bytes([2; 20]));
    let mut dht = btdht::node::Dht::new(
        btdht::node::Config::default(),
        [3; 32],
        btdht::time::Instant::from_millis(0),
    );
    let _ = dht.ping(
        btdht::time::Instant::from_millis(1),
        core::net::SocketAddr::from(([192, 0, 2, 1], 6881)),
    );
    let sent = dht
        .poll_transmit(btdht::time::Instant::from_millis(1), &mut out)
        .map_or(0, |t| t.len);
    black_box((d.leading_zeros(), sent));
    // The small device's settings (Config::small) exist without std too.
    let small = btdht::node::Config::small();
    if small.max_searches == 0 {
        return 6;
    }
    let mut dht = btdht::node::Dht::new(small, [4; 32], btdht::time::Instant::from_millis(0));
    let _ = dht.ping(
        btdht::time::Instant::from_millis(1),
        core::net::SocketAddr::from(([192, 0, 2, 2], 6881)),
    );
    if dht
        .poll_transmit(btdht::time::Instant::from_millis(1), &mut out)
        .is_none()
    {
        return 7;
    }
    // BEP 44 signatures (feature `ed25519`): sign, then verify.
    use btdht::store::{Ed25519Signer, Ed25519Verifier, SignatureSigner, SignatureVerifier};
    let signer = Ed25519Signer::from_secret_key(black_box(&[5; 32]));
    let sig = signer.sign(black_box(b"3:seqi1e1:v1:x"));
    if !Ed25519Verifier.verify(&signer.public_key(), b"3:seqi1e1:v1:x", &sig) {
        return 5;
    }
    0
}
