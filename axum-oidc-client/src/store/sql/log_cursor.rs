//! Reading a revocation log in order without skipping a row that commits late.
//!
//! The log's `seq` is assigned when a row is inserted, not when it commits: on
//! InnoDB two concurrent inserts can commit out of order, so a reader may see seq 11
//! before seq 10 exists. A reader that simply remembered "the highest seq I saw"
//! would never deliver 10. [`LogCursor`] keeps a *floor* (every seq at or below it
//! was delivered or given up) and the seqs it delivered above the floor; the next
//! read starts from the floor again, so a late row is still found, and a row read
//! twice is delivered once.
//!
//! A missing seq may also never appear (its insert rolled back, or the server
//! skipped it). Such a gap is given up once it has stayed open for the gap timeout,
//! measured from the read that first showed a higher seq; the floor then moves past
//! it. This is a pure state machine: the caller passes the rows it read and the time.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// Where a reader of the revocation log stands. See the [module docs](self).
#[derive(Debug)]
pub(super) struct LogCursor {
    /// Every seq at or below it was delivered, given up, or came before the start.
    floor: i64,
    /// Delivered seqs above the floor.
    delivered: BTreeSet<i64>,
    /// `(upto, at)`, `upto` increasing: a seq below `upto` (and above the previous
    /// entry's) that was not delivered was known to be missing at `at`.
    noticed: VecDeque<(i64, Instant)>,
    /// The highest seq delivered so far.
    highest: i64,
    gap_timeout: Duration,
}

impl LogCursor {
    /// A cursor that delivers the rows after `start` (the highest seq when reading
    /// began), giving up on a gap after `gap_timeout`.
    pub(super) fn new(start: i64, gap_timeout: Duration) -> Self {
        Self {
            floor: start,
            delivered: BTreeSet::new(),
            noticed: VecDeque::new(),
            highest: start,
            gap_timeout,
        }
    }

    /// The next read asks for the rows with a seq above this, in seq order.
    pub(super) fn floor(&self) -> i64 {
        self.floor
    }

    /// Takes the rows of one read (`(seq, item)`, in any order) made at `now`, and
    /// returns the items not delivered before, in seq order.
    pub(super) fn accept<T>(
        &mut self,
        rows: impl IntoIterator<Item = (i64, T)>,
        now: Instant,
    ) -> Vec<T> {
        let mut fresh: Vec<(i64, T)> = rows
            .into_iter()
            .filter(|(seq, _)| *seq > self.floor && !self.delivered.contains(seq))
            .collect();
        fresh.sort_by_key(|(seq, _)| *seq);
        fresh.dedup_by_key(|(seq, _)| *seq);
        self.delivered.extend(fresh.iter().map(|(seq, _)| *seq));
        if let Some(&highest) = self.delivered.last()
            && highest > self.highest
        {
            self.noticed.push_back((highest, now));
            self.highest = highest;
        }
        self.advance(now);
        fresh.into_iter().map(|(_, item)| item).collect()
    }

    /// Moves the floor over delivered seqs, and over gaps open for the timeout.
    fn advance(&mut self, now: Instant) {
        loop {
            let next = self.floor + 1;
            let Some(&above) = self.delivered.first() else {
                break;
            };
            if above == next {
                self.delivered.pop_first();
                self.floor = next;
                continue;
            }
            // `next` is missing below a delivered `above`: when was it first known?
            while self.noticed.front().is_some_and(|&(upto, _)| upto <= next) {
                self.noticed.pop_front();
            }
            let Some(&(upto, at)) = self.noticed.front() else {
                break;
            };
            if now.saturating_duration_since(at) < self.gap_timeout {
                break;
            }
            // Every missing seq below `upto` was known at `at` or earlier: give up on
            // them (up to the next delivered seq), in one step however wide the gap.
            self.floor = upto.min(above) - 1;
        }
        while self
            .noticed
            .front()
            .is_some_and(|&(upto, _)| upto <= self.floor)
        {
            self.noticed.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: Duration = Duration::from_secs(2);

    fn ms(t0: Instant, millis: u64) -> Instant {
        t0 + Duration::from_millis(millis)
    }

    #[test]
    fn rows_in_order_are_delivered_in_order_and_move_the_floor() {
        let t0 = Instant::now();
        let mut c = LogCursor::new(10, GAP);
        assert_eq!(c.accept([(11, "a"), (12, "b")], t0), ["a", "b"]);
        assert_eq!(c.floor(), 12);
        assert_eq!(c.accept([(13, "c")], ms(t0, 50)), ["c"]);
        assert_eq!(c.floor(), 13);
    }

    #[test]
    fn rows_at_or_before_the_start_are_not_delivered() {
        let mut c = LogCursor::new(10, GAP);
        assert!(
            c.accept([(9, "old"), (10, "old")], Instant::now())
                .is_empty()
        );
        assert_eq!(c.floor(), 10);
    }

    #[test]
    fn rows_read_out_of_order_are_delivered_in_seq_order() {
        let mut c = LogCursor::new(0, GAP);
        assert_eq!(c.accept([(2, "b"), (1, "a")], Instant::now()), ["a", "b"]);
        assert_eq!(c.floor(), 2);
    }

    #[test]
    fn a_row_that_commits_late_below_the_highest_is_still_delivered() {
        let t0 = Instant::now();
        let mut c = LogCursor::new(10, GAP);
        // Seq 11 is inserted first but commits after seq 12.
        assert_eq!(c.accept([(12, "b")], t0), ["b"]);
        assert_eq!(c.floor(), 10, "the floor waits below the gap");
        assert_eq!(c.accept([(11, "a"), (12, "b")], ms(t0, 1500)), ["a"]);
        assert_eq!(c.floor(), 12);
    }

    #[test]
    fn a_row_read_again_is_not_delivered_twice() {
        let t0 = Instant::now();
        let mut c = LogCursor::new(0, GAP);
        assert_eq!(c.accept([(2, "b"), (3, "c")], t0), ["b", "c"]);
        assert!(c.accept([(2, "b"), (3, "c")], ms(t0, 50)).is_empty());
        assert_eq!(c.accept([(1, "a"), (2, "b"), (3, "c")], ms(t0, 100)), ["a"]);
        assert!(
            c.accept([(1, "a"), (2, "b"), (3, "c")], ms(t0, 150))
                .is_empty()
        );
        // A duplicate inside one read is delivered once.
        assert_eq!(c.accept([(4, "d"), (4, "d")], ms(t0, 200)), ["d"]);
    }

    #[test]
    fn a_gap_is_given_up_only_after_its_timeout() {
        let t0 = Instant::now();
        let mut c = LogCursor::new(10, GAP);
        assert_eq!(c.accept([(12, "b")], t0), ["b"]);
        assert!(c.accept([(12, "b")], ms(t0, 1999)).is_empty());
        assert_eq!(c.floor(), 10, "still waiting for seq 11");
        assert!(c.accept([(12, "b")], ms(t0, 2000)).is_empty());
        assert_eq!(c.floor(), 12, "seq 11 given up");
        // A row that appears after its gap was given up is below the floor.
        assert!(c.accept([(11, "a"), (12, "b")], ms(t0, 3000)).is_empty());
    }

    #[test]
    fn each_gap_waits_from_when_it_was_first_seen() {
        let t0 = Instant::now();
        let mut c = LogCursor::new(10, GAP);
        assert_eq!(c.accept([(12, "b")], t0), ["b"]);
        // Seqs 13 and 14 are first known missing at 1.5 s.
        assert_eq!(c.accept([(12, "b"), (15, "e")], ms(t0, 1500)), ["e"]);
        c.accept([(12, "b"), (15, "e")], ms(t0, 2000));
        assert_eq!(c.floor(), 12, "seq 11 given up, 13 and 14 not yet");
        assert_eq!(c.accept([(14, "d"), (15, "e")], ms(t0, 3000)), ["d"]);
        assert_eq!(c.floor(), 12);
        c.accept([(14, "d"), (15, "e")], ms(t0, 3500));
        assert_eq!(c.floor(), 15, "seq 13 given up");
    }

    #[test]
    fn a_wide_gap_is_given_up_in_one_step() {
        let t0 = Instant::now();
        let mut c = LogCursor::new(0, GAP);
        assert_eq!(c.accept([(1_000_000_000, "x")], t0), ["x"]);
        c.accept(Vec::<(i64, &str)>::new(), ms(t0, 2000));
        assert_eq!(c.floor(), 1_000_000_000);
    }
}
