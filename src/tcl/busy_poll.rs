//! Busy polling (`-busypoll`): after a handler ran, the thread watches its
//! mailbox's flag for a few microseconds before Tcl puts it to sleep.
//!
//! A reply that comes within that time is handled without the thread
//! sleeping and being woken. A wake-up costs more than a round trip on
//! loopback: the I/O thread's `Tcl_ThreadAlert` (a condition variable
//! under Tcl 8.6's notifier mutex, an eventfd write under Tcl 9) and the
//! scheduler's latency in waking the thread. This is the same trade as
//! Linux's `SO_BUSY_POLL`: some CPU for latency.
//!
//! The poll is bounded by the connection's `-busypoll` (10 ms at most; the
//! event loop's timers and channels wait that long at most). A client's
//! is 50 µs, a server connection's 0: a server thread serves many peers,
//! which keep it busy without a watch, and on a shared machine the CPU a
//! watch takes is theirs (20 clients of a server beside a stalled reader,
//! bench/run.sh's isolation case: about 10% less throughput and 10% more
//! p99 with 50 µs, eight alternating runs). It follows
//! only a handled message, and it backs off: a poll that found nothing
//! makes the next 1, 2, 4 … 64 waits sleep at once, and a poll that found
//! an event starts over. A thread whose peers answer slower than its
//! budget spends about one budget per 64 messages.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::ffi::events::Flag;

/// The longest back-off, in waits.
const MAX_BACKOFF: u8 = 64;

#[derive(Clone, Copy, Default)]
struct Policy {
    /// The budget of the next wait: the `-busypoll` of the connection
    /// whose message was handled last; zero when none was since the last
    /// wait.
    budget: Duration,
    /// Waits to sleep through at once.
    skip: u8,
    /// The back-off the next poll that finds nothing sets.
    backoff: u8,
}

thread_local! {
    static POLICY: Cell<Policy> = Cell::new(Policy::default());
}

/// A message of a connection with `-busypoll` `budget` was handed to its
/// handler: the thread's next wait may poll first.
pub fn handled(budget: Duration) {
    POLICY.with(|p| {
        let mut now = p.get();
        now.budget = budget;
        p.set(now);
    });
}

/// The thread is about to wait with `flag` down (Tcl's setup phase):
/// polls it for the budget the last handled message left, if any.
pub fn before_wait(flag: &Flag) {
    let mut p = POLICY.with(Cell::get);
    let budget = std::mem::take(&mut p.budget);
    if budget.is_zero() {
        return;
    }
    if p.skip > 0 {
        p.skip -= 1;
    } else if flag.watching(|| poll(flag, budget)) {
        p.backoff = 0;
    } else {
        p.backoff = (p.backoff * 2).clamp(1, MAX_BACKOFF);
        p.skip = p.backoff;
    }
    POLICY.with(|c| c.set(p));
}

/// Whether `flag` came up within `budget`.
fn poll(flag: &Flag, budget: Duration) -> bool {
    let start = Instant::now();
    loop {
        // The clock costs more than a load: look at it every 64 loads.
        for _ in 0..64 {
            if flag.is_up() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= budget {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        POLICY.with(Cell::get)
    }

    #[test]
    fn polls_only_after_a_message_and_backs_off() {
        let down = Flag::default();
        let up = Flag::default();
        up.raise();
        let us = Duration::from_micros(20);
        // Nothing handled: no poll, nothing changes.
        before_wait(&down);
        assert_eq!((policy().skip, policy().backoff), (0, 0));
        // A poll that finds nothing: back off 1, then 2, then 4 waits.
        for (backoff, skipped) in [(1, 1), (2, 2), (4, 4)] {
            handled(us);
            before_wait(&down);
            assert_eq!(policy().backoff, backoff);
            for _ in 0..skipped {
                assert!(policy().skip > 0);
                handled(us);
                before_wait(&down);
            }
            assert_eq!(policy().skip, 0);
        }
        // A poll that finds the flag up starts over.
        handled(us);
        before_wait(&up);
        assert_eq!((policy().skip, policy().backoff), (0, 0));
        // The budget is spent by one wait.
        assert!(policy().budget.is_zero());
    }

    #[test]
    fn backoff_is_bounded() {
        let down = Flag::default();
        for _ in 0..2000 {
            handled(Duration::from_micros(1));
            before_wait(&down);
            assert!(policy().backoff <= MAX_BACKOFF);
        }
        assert_eq!(policy().backoff, MAX_BACKOFF);
    }

    #[test]
    fn raising_a_watched_flag_needs_no_alert() {
        let f = Flag::default();
        assert!(f.raise());
        assert!(!f.watching(|| f.raise()));
        assert!(f.raise());
        assert!(f.is_up());
    }

    #[test]
    fn a_flag_raised_meanwhile_ends_the_poll() {
        let flag = std::sync::Arc::new(Flag::default());
        let other = flag.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            other.raise();
        });
        // A budget far longer than the test: the flag must end it.
        assert!(poll(&flag, Duration::from_secs(600)));
        t.join().unwrap();
    }
}
