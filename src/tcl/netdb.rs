//! Reverse name lookup for socket ends, as Tcl's own sockets do it for
//! `fconfigure -peername/-sockname`: getnameinfo without NI_NAMEREQD, so an
//! address without a name comes back as itself. Called on the engine's
//! helper threads, never on a Tcl thread.

use std::ffi::{c_char, CStr};
use std::net::IpAddr;

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
