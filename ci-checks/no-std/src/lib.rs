//! A `no_std` consumer of `unat`: it translates a packet through the public
//! API, with its own panic handler and a toy allocator, and links only if
//! nothing in the dependency tree needs `std`.
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::net::Ipv4Addr;
use core::sync::atomic::{AtomicUsize, Ordering};

use unat::{LruStore, Mode, Nat};

/// mirage-nat's mode: nothing expires, so one instant will do.
const NOW: unat::Instant = unat::Instant::ZERO;

/// A bump allocator over a static arena: enough for a small store.
struct Bump {
    arena: UnsafeCell<[u8; 1 << 20]>,
    next: AtomicUsize,
}

// SAFETY: allocation hands out disjoint ranges through an atomic cursor.
unsafe impl Sync for Bump {}

// SAFETY: every returned pointer is in the arena, aligned and unshared;
// memory is never reused, so dealloc has nothing to do.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.arena.get() as usize;
        let mut cur = self.next.load(Ordering::Relaxed);
        loop {
            let start = (base + cur + layout.align() - 1) & !(layout.align() - 1);
            let end = start - base + layout.size();
            if end > 1 << 20 {
                return core::ptr::null_mut();
            }
            match self.next.compare_exchange(cur, end, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return start as *mut u8,
                Err(c) => cur = c,
            }
        }
    }
    unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
}

#[global_allocator]
static ALLOC: Bump = Bump {
    arena: UnsafeCell::new([0; 1 << 20]),
    next: AtomicUsize::new(0),
};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// Translates one fixed UDP packet; returns its new TTL (63) or 0.
#[no_mangle]
pub extern "C" fn unat_no_std_check() -> u8 {
    let Ok(store) = LruStore::new(16, 16, 16) else { return 0 };
    let mut nat = Nat::new(store);
    let mut pkt: [u8; 28] = [
        0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 198, 18, 1, 2, //
        0x13, 0x88, 0, 53, 0, 8, 0, 0,
    ];
    let c = unat::wire::checksum::checksum(&pkt[..20]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
    if nat.add(&pkt, Ipv4Addr::new(198, 18, 0, 2), || Some(40000), Mode::Nat, NOW).is_err() {
        return 0;
    }
    match nat.translate(&mut pkt, NOW) {
        Ok(_) => pkt[8],
        Err(_) => 0,
    }
}

/// Fragments a packet, reassembles it, and builds an ICMP error about it:
/// the rest of the library's API, linked without std. Returns the number
/// of fragments (2) or 0.
#[no_mangle]
pub extern "C" fn unat_no_std_check_fragments() -> usize {
    let mut pkt = [0u8; 100];
    pkt[..20].copy_from_slice(&[
        0x45, 0, 0, 100, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 2, 198, 18, 1, 2,
    ]);
    let c = unat::wire::checksum::checksum(&pkt[..20]);
    pkt[10..12].copy_from_slice(&c.to_be_bytes());
    let mut r = unat::fragment::Reassembler::default();
    let mut pieces = 0;
    let mut whole = false;
    let split = unat::fragment::fragment(&pkt, 68, &mut |piece| {
        pieces += 1;
        whole |= matches!(r.push(piece, NOW), Ok(Some(_)));
    });
    let mut err = [0u8; 576];
    let about = unat::icmp_out::error_about(
        &pkt,
        Ipv4Addr::new(10, 0, 0, 1),
        unat::icmp_out::ErrorKind::TimeExceeded,
        &mut err,
    );
    match (split, whole, about) {
        (Ok(n), true, Ok(_)) => n.min(pieces),
        _ => 0,
    }
}
