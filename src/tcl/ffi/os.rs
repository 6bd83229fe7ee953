//! The operating system calls of the Tcl layer: reverse name lookups,
//! socket descriptors, giving memory back.

use std::ffi::{c_char, CStr};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Tcl 8.6 watches descriptors with select(), which cannot go past
/// FD_SETSIZE (1024): the engine's duplicates take numbers from there up
/// when the limit allows, leaving the low ones to Tcl's own sockets.
///
/// # Safety
/// `fd` is an open descriptor for the whole call.
pub(super) unsafe fn duplicate_high(fd: RawFd) -> std::io::Result<OwnedFd> {
    const FIRST_HIGH_FD: RawFd = 1024;
    // SAFETY: `fd` is open (the caller's promise); F_DUPFD_CLOEXEC makes a
    // new descriptor that we own from here on.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, FIRST_HIGH_FD) };
    if high >= 0 {
        // SAFETY: `high` was just created and is owned by nobody else.
        return Ok(unsafe { OwnedFd::from_raw_fd(high) });
    }
    // SAFETY: as above; the plain duplicate when high numbers are not allowed.
    unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned()
}

/// Makes descriptor number `fd` refer to what `to` refers to (dup2).
///
/// # Safety
/// `fd` is an open descriptor whose owner expects it to change.
pub(super) unsafe fn point_at(fd: RawFd, to: &impl AsRawFd) {
    // SAFETY: both descriptors are open; dup2 swaps what `fd` refers to.
    unsafe { libc::dup2(to.as_raw_fd(), fd) };
}

/// Gives the C allocator's free memory back to the system, for the engine
/// once many connections have ended.
pub fn release_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Reverse name lookup for socket ends, as Tcl's own sockets do it for
/// `fconfigure -peername/-sockname`: getnameinfo without NI_NAMEREQD, so an
/// address without a name comes back as itself. Called on the engine's
/// helper threads, or when a script first asks for a name.
///
/// The host name of `ip`, or None when the lookup itself failed.
pub fn reverse_lookup(ip: IpAddr) -> Option<String> {
    let mut host = [0 as c_char; 1025]; // NI_MAXHOST
    let rc = match ip {
        IpAddr::V4(v4) => {
            // SAFETY: an all-zero sockaddr_in is valid; we fill its fields.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_addr.s_addr = u32::from_ne_bytes(v4.octets());
            // SAFETY: `sa` is a sockaddr_in of the length given; `host` is
            // a buffer of the length given; no service is asked for.
            unsafe {
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    0,
                )
            }
        }
        IpAddr::V6(v6) => {
            // SAFETY: an all-zero sockaddr_in6 is valid; we fill its fields.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_addr.s6_addr = v6.octets();
            // SAFETY: as above, for a sockaddr_in6.
            unsafe {
                libc::getnameinfo(
                    (&sa as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                    host.as_mut_ptr(),
                    host.len() as libc::socklen_t,
                    std::ptr::null_mut(),
                    0,
                    0,
                )
            }
        }
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success getnameinfo left a NUL-terminated string in `host`.
    let name = unsafe { CStr::from_ptr(host.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_a_name_or_itself() {
        let n = reverse_lookup("127.0.0.1".parse().unwrap()).unwrap();
        assert!(!n.is_empty());
    }
}
