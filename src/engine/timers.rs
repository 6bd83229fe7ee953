//! Deadlines for all connections in one heap. Entries are never removed:
//! a connection checks, when one fires, whether it still wants it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use super::types::ConnId;

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, ConnId)>>,
}

impl Timers {
    pub fn add(&mut self, at: Instant, id: ConnId) {
        self.heap.push(Reverse((at, id)));
    }

    /// Time until the next deadline, if any.
    pub fn next_timeout(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse((at, _))| at.saturating_duration_since(now))
    }

    /// Gives back room the heap no longer needs.
    pub fn shrink(&mut self) {
        self.heap.shrink_to(self.heap.len() * 2);
    }

    /// Pops every connection whose deadline has passed.
    pub fn expired(&mut self, now: Instant, out: &mut Vec<ConnId>) {
        while let Some(Reverse((at, id))) = self.heap.peek().copied() {
            if at > now {
                break;
            }
            self.heap.pop();
            out.push(id);
        }
    }
}
