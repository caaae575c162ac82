//! Lost answers: how a POST whose answer never came is settled without ever placing its call
//! twice. Pure logic; the runner reads the list and applies the verdicts.
//!
//! The API has no idempotency key and no search: what a lost POST did can only be read off the
//! account's list of recent calls (`GET /v1/agent/calls`, the newest 100, most recent first).
//! Three rules make that reading certain:
//!
//! 1. **An anchor.** Every attempt records, before its POST is sent, a call known to exist
//!    already (the newest call of a list read, or a call whose POST was answered): its call,
//!    if the POST created one, is newer than the anchor. A call older than the anchor is never
//!    taken for it, and a list that holds the anchor holds every call that could be its own.
//! 2. **An unbroken chain.** Reads are chained: a read that holds the newest call of the read
//!    before it (or holds every call of the account) leaves no gap between them. [`Watch`]
//!    keeps the calls seen since the chain began, in creation order; when two reads do not
//!    overlap, the chain starts again and attempts whose anchor is behind the gap are out of
//!    reach. The runner keeps the gap from opening: it counts its own placements since each
//!    anchor and each read, and reads again (or pauses placing) well before they could fill a
//!    page ([`READ_AHEAD`], [`REACH`]).
//! 3. **A wait.** "Not placed" needs a read asked after the attempt's
//!    `limits.lost_answer_wait` has passed, in real and in simulated time (a request held by a
//!    gateway takes effect late; a rehearsal's fast clock must not make the wait shorter in
//!    real time), with no candidate in the chain since its anchor.
//!
//! A candidate is a call newer than the anchor with the attempt's number and objective that is
//! neither known to this campaign nor claimed by another campaign on the account. One candidate:
//! found. Two: it cannot be told which, and the attempt is `unknown`, never guessed. An item the
//! list shows without its number or objective could be either, so it never lets an attempt be
//! judged absent.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::api::CallRecord;
use crate::state::Evidence;

/// How many calls one read asks for: the API's maximum page.
pub const LIST_LIMIT: u8 = 100;

/// The most placements of this run allowed between an anchor (or the last read of the chain)
/// and the next read, while an attempt may need that read: the page holds 100, and the margin
/// is for calls of other clients on the account and for answers that arrive out of order.
pub const REACH: u64 = 80;

/// After this many placements since an anchor or the last read, the next read is asked
/// without waiting for the limit, so placing seldom has to pause.
pub const READ_AHEAD: u64 = 40;

/// A call that existed before an attempt's POST was sent: the attempt's call, if any, is newer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// The account had no call at all (a read held the whole, empty, list).
    Start,
    /// This call.
    After(String),
    /// Not recorded (an attempt of an earlier version): only a read holding every call of the
    /// account can speak for it.
    Unrecorded,
}

impl Anchor {
    /// How the state file keeps it: `NULL` unrecorded, `''` the start, else the call id.
    pub fn to_column(&self) -> Option<&str> {
        match self {
            Anchor::Start => Some(""),
            Anchor::After(id) => Some(id),
            Anchor::Unrecorded => None,
        }
    }

    pub fn from_column(column: Option<String>) -> Anchor {
        match column {
            None => Anchor::Unrecorded,
            Some(id) if id.is_empty() => Anchor::Start,
            Some(id) => Anchor::After(id),
        }
    }
}

/// What an attempt sent, as matched against the list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Sent {
    pub to: String,
    pub objective: String,
}

impl Sent {
    fn key(&self) -> (u64, &str) {
        (text_hash(&self.objective), &self.to)
    }
}

/// Why a lost answer could not be settled either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// The list no longer reaches back to the attempt: calls it could not see were made since.
    OutOfReach,
    /// Two calls or more could be the attempt's.
    Several,
    /// The list shows calls without their number or objective.
    Unreadable,
}

impl Doubt {
    /// The reason an attempt and its contact keep (status, explain, results).
    pub fn reason(self) -> &'static str {
        match self {
            Doubt::OutOfReach => {
                "a call may have been placed: more calls were made on the account since than the API's \
                 list of recent calls shows, so it cannot tell; not called again unless a run is \
                 given --retry-unknown"
            }
            Doubt::Several => {
                "a call may have been placed: two calls to the number with the same objective could \
                 each be this one's (another client on the account?); not called again unless a run \
                 is given --retry-unknown"
            }
            Doubt::Unreadable => {
                "a call may have been placed: the API's list of calls does not show each call's \
                 number and objective, so it cannot tell; not called again unless a run is given \
                 --retry-unknown"
            }
        }
    }
}

/// What the chain of reads says about one attempt so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sighting {
    /// Its anchor has not been read yet: wait for the next read.
    Waiting,
    /// Its anchor is behind a gap in the chain.
    OutOfReach,
    /// The chain reaches back to its anchor. `calls`: the candidates since, oldest first;
    /// `unreadable`: items since that show no number or objective.
    Seen {
        calls: Vec<String>,
        unreadable: usize,
    },
}

/// The verdict on a lost answer: `None` while it must wait for another read.
///
/// `settled`: a read asked after the attempt's `lost_answer_wait` had passed (in real and in
/// simulated time) is part of the chain.
pub fn judge(sighting: &Sighting, settled: bool) -> Option<(Evidence, Option<Doubt>)> {
    match sighting {
        Sighting::Waiting => None,
        Sighting::OutOfReach => Some((Evidence::Inconclusive, Some(Doubt::OutOfReach))),
        Sighting::Seen { calls, .. } if calls.len() > 1 => {
            Some((Evidence::Inconclusive, Some(Doubt::Several)))
        }
        Sighting::Seen {
            calls,
            unreadable: 0,
        } if calls.len() == 1 => Some((Evidence::Found, None)),
        Sighting::Seen { unreadable: 0, .. } if settled => Some((Evidence::Absent, None)),
        Sighting::Seen { .. } if settled => Some((Evidence::Inconclusive, Some(Doubt::Unreadable))),
        Sighting::Seen { .. } => None,
    }
}

/// The anchor an attempt may be given in the state file after a read, so that a run resumed
/// after a kill (whose chain of reads begins again) needs to reach back only that far: the
/// chain's newest call, when the chain held the attempt's anchor and showed nothing since that
/// could be its call. Its call, if it is ever made, is then newer than that head too. `None`:
/// keep the anchor it has.
pub fn checkpoint(sighting: &Sighting, anchor: &Anchor, head: Option<Anchor>) -> Option<Anchor> {
    match sighting {
        Sighting::Seen { calls, unreadable } if calls.is_empty() && *unreadable == 0 => {
            head.filter(|head| head != anchor)
        }
        _ => None,
    }
}

/// A call seen in the chain: its id, and what it is matched on.
#[derive(Debug, Clone)]
struct Seen {
    id: String,
    /// `(hash of the objective, number)`, `None` when the list left either out.
    key: Option<(u64, String)>,
}

/// The chain of list reads: every call of the account seen since it began, oldest first.
#[derive(Debug, Default)]
pub struct Watch {
    /// Calls in creation order; `seen[i]` is at position `first + i`.
    seen: Vec<Seen>,
    first: u64,
    /// Where each call stands, and whether it may serve as an anchor (see [`Watch::read`]).
    positions: HashMap<String, (u64, bool)>,
    /// The chain began with a read that held every call of the account.
    from_start: bool,
    /// A read has begun the current chain.
    begun: bool,
    /// The newest call of the last read.
    head: Option<String>,
    /// Chains begun (a gap starts a new one).
    chains: u64,
    /// Calls seen late: listed older than a call seen before them.
    late: usize,
}

impl Watch {
    /// Adds a read (`calls` most recent first, asked with `limit`) to the chain; `false` if it
    /// did not overlap the read before it, which began a new chain.
    pub fn read(&mut self, calls: &[CallRecord], limit: usize) -> bool {
        let complete = calls.len() < limit;
        let overlap = self
            .head
            .as_ref()
            .and_then(|head| calls.iter().position(|c| &c.id == head));
        // An empty chain (no call at all so far) continues only into a read that holds them all.
        let continues = self.begun && (complete || overlap.is_some());
        if !continues {
            self.seen.clear();
            self.positions.clear();
            self.first = 0;
            self.from_start = complete;
            self.begun = true;
            self.chains += 1;
        }
        // Calls newer than the last read's newest, oldest first; then, in a read that continues
        // the chain, calls listed older than it that were not seen before, but newer than a
        // call still held: they became visible late (older ones were forgotten, or are older
        // than anything an attempt needs). Each is a candidate (appended: a candidate is never
        // missed), but not an anchor: its place among the calls is not known, so calls newer
        // than it could be missed.
        let (fresh, late) = match overlap {
            Some(at) if continues => {
                let held = calls[at..]
                    .iter()
                    .rposition(|c| self.positions.contains_key(&c.id))
                    .map_or(at, |last| at + last);
                (&calls[..at], &calls[at..held])
            }
            _ => (calls, &calls[..0]),
        };
        for call in fresh.iter().rev() {
            self.add(call, true);
        }
        for call in late.iter().rev() {
            self.add(call, false);
        }
        if let Some(newest) = calls.first() {
            self.head = Some(newest.id.clone());
        }
        continues
    }

    fn add(&mut self, call: &CallRecord, anchor: bool) {
        if self.positions.contains_key(&call.id) {
            return;
        }
        let position = self.first + self.seen.len() as u64;
        self.positions.insert(call.id.clone(), (position, anchor));
        let key = match (&call.objective, &call.to) {
            (Some(objective), Some(to)) => Some((text_hash(objective), to.clone())),
            _ => None,
        };
        self.seen.push(Seen {
            id: call.id.clone(),
            key,
        });
        self.late += usize::from(!anchor);
    }

    /// The anchor a POST sent now would have from the chain alone: its newest call.
    pub fn head(&self) -> Option<Anchor> {
        match &self.head {
            Some(id) => Some(Anchor::After(id.clone())),
            None if self.begun && self.from_start => Some(Anchor::Start),
            None => None,
        }
    }

    /// Where in the chain the calls newer than `anchor` begin (an index into `seen`), if the
    /// chain reaches back to it.
    fn newer_than(&self, anchor: &Anchor) -> Option<usize> {
        match anchor {
            Anchor::After(id) => match self.positions.get(id) {
                Some(&(p, true)) => Some((p - self.first) as usize + 1),
                _ => None,
            },
            Anchor::Start | Anchor::Unrecorded if self.begun && self.from_start => Some(0),
            Anchor::Start | Anchor::Unrecorded => None,
        }
    }

    /// Whether the chain reaches back to `anchor`.
    pub fn holds(&self, anchor: &Anchor) -> bool {
        self.newer_than(anchor).is_some()
    }

    /// What the chain says of an attempt that sent `sent` after `anchor`. `read_since`: a read
    /// asked after the attempt was made has been added (without one, an anchor not yet seen
    /// may simply not have been read yet). `other`: calls not to be taken as this attempt's
    /// (known to this campaign, claimed by another).
    pub fn sight(
        &self,
        sent: &Sent,
        anchor: &Anchor,
        read_since: bool,
        mut other: impl FnMut(&str) -> bool,
    ) -> Sighting {
        let Some(skip) = self.newer_than(anchor) else {
            return if read_since {
                Sighting::OutOfReach
            } else {
                Sighting::Waiting
            };
        };
        let (objective, to) = sent.key();
        let mut calls = Vec::new();
        let mut unreadable = 0;
        for seen in self.seen.iter().skip(skip) {
            match &seen.key {
                None => unreadable += 1,
                Some((o, t)) if *o == objective && t == to && !other(&seen.id) => {
                    calls.push(seen.id.clone());
                }
                Some(_) => {}
            }
        }
        Sighting::Seen { calls, unreadable }
    }

    /// Forgets the calls no open attempt can need: those up to the oldest of `anchors` that the
    /// chain holds (everything when there is none).
    pub fn forget_before<'a>(&mut self, anchors: impl IntoIterator<Item = &'a Anchor>) {
        // Each anchor is kept itself: the next read must still find it.
        let oldest = anchors
            .into_iter()
            .filter_map(|a| self.newer_than(a))
            .map(|newer| newer.saturating_sub(1))
            .min();
        let keep_from = oldest.unwrap_or(self.seen.len().saturating_sub(1));
        if keep_from == 0 {
            return;
        }
        for gone in self.seen.drain(..keep_from) {
            self.positions.remove(&gone.id);
        }
        self.first += keep_from as u64;
    }

    /// How many calls it holds (for tests and the memory bound).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// How many chains were begun: more than one means reads did not overlap.
    pub fn chains(&self) -> u64 {
        self.chains
    }
}

fn text_hash(text: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, to: &str, objective: &str) -> CallRecord {
        CallRecord::from_json(serde_json::json!({
            "id": id, "status": "queued", "to": to, "objective": objective,
        }))
        .unwrap()
    }

    fn other(id: &str) -> CallRecord {
        call(id, "+12125550100", "Other")
    }

    /// The newest first, as the API lists them.
    fn page(calls: &[CallRecord]) -> Vec<CallRecord> {
        calls.iter().rev().cloned().collect()
    }

    fn sent() -> Sent {
        Sent {
            to: "+14155550101".into(),
            objective: "Confirm".into(),
        }
    }

    fn anchor(id: &str) -> Anchor {
        Anchor::After(id.into())
    }

    fn none(_: &str) -> bool {
        false
    }

    fn seen(calls: &[&str], unreadable: usize) -> Sighting {
        Sighting::Seen {
            calls: calls.iter().map(|c| (*c).to_owned()).collect(),
            unreadable,
        }
    }

    #[test]
    fn a_call_newer_than_the_anchor_is_found_and_an_older_one_never() {
        let mut w = Watch::default();
        // c1 matches but predates the anchor a: an earlier call to the same number.
        let calls = [call("c1", "+14155550101", "Confirm"), other("a")];
        assert!(!w.read(&page(&calls), 100), "the first read begins a chain");
        assert_eq!(w.sight(&sent(), &anchor("a"), true, none), seen(&[], 0));
        let calls = [
            call("c1", "+14155550101", "Confirm"),
            other("a"),
            call("c2", "+14155550101", "Confirm"),
            call("c3", "+14155550101", "Another objective"),
        ];
        assert!(w.read(&page(&calls), 100));
        assert_eq!(w.sight(&sent(), &anchor("a"), true, none), seen(&["c2"], 0));
        // A call this campaign knows already is not a candidate.
        assert_eq!(
            w.sight(&sent(), &anchor("a"), true, |id| id == "c2"),
            seen(&[], 0)
        );
    }

    #[test]
    fn an_anchor_not_read_yet_waits_and_one_behind_a_gap_is_out_of_reach() {
        let mut w = Watch::default();
        let full: Vec<CallRecord> = (0..100).map(|i| other(&format!("x{i}"))).collect();
        w.read(&page(&full), 100);
        // The anchor came from a POST's answer after that read.
        assert_eq!(
            w.sight(&sent(), &anchor("p"), false, none),
            Sighting::Waiting
        );
        // A full page that does not hold the last read's newest call: a gap.
        let next: Vec<CallRecord> = (200..300).map(|i| other(&format!("y{i}"))).collect();
        assert!(!w.read(&page(&next), 100));
        assert_eq!(w.chains(), 2);
        assert_eq!(
            w.sight(&sent(), &anchor("x50"), true, none),
            Sighting::OutOfReach
        );
        assert_eq!(
            w.sight(&sent(), &anchor("p"), true, none),
            Sighting::OutOfReach
        );
    }

    #[test]
    fn overlapping_full_pages_keep_one_chain() {
        let mut w = Watch::default();
        let all: Vec<CallRecord> = (0..250).map(|i| other(&format!("x{i}"))).collect();
        let mut all = all;
        all[120] = call("mine", "+14155550101", "Confirm");
        // Pages of the newest 100 after 100, 150, 200 and 250 calls: each overlaps the last.
        for end in [100, 150, 200, 250] {
            w.read(&page(&all[end - 100..end]), 100);
        }
        assert_eq!(w.chains(), 1);
        assert_eq!(
            w.sight(&sent(), &anchor("x10"), true, none),
            seen(&["mine"], 0)
        );
        // Only what an open attempt can need is kept.
        w.forget_before([&anchor("x110")]);
        assert_eq!(w.len(), 250 - 110);
        assert_eq!(
            w.sight(&sent(), &anchor("x110"), true, none),
            seen(&["mine"], 0)
        );
        w.forget_before([]);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn a_call_that_shows_late_is_a_candidate_but_never_an_anchor() {
        let mut w = Watch::default();
        w.read(&page(&[other("a"), other("b")]), 100);
        // `late` was created before `b` but shows only now, listed below it.
        let calls = [
            other("a"),
            call("late", "+14155550101", "Confirm"),
            other("b"),
            other("c"),
        ];
        let full: Vec<CallRecord> = page(&calls);
        assert!(w.read(&full, 4), "it overlaps: one chain");
        assert_eq!(
            w.sight(&sent(), &anchor("a"), true, none),
            seen(&["late"], 0)
        );
        assert!(!w.holds(&anchor("late")));
        // Read again, it is not added twice.
        w.read(&full, 4);
        assert_eq!(
            w.sight(&sent(), &anchor("a"), true, none),
            seen(&["late"], 0)
        );
    }

    #[test]
    fn a_forgotten_call_listed_again_is_not_taken_for_a_new_one() {
        let mut w = Watch::default();
        let calls = [
            call("old", "+14155550101", "Confirm"),
            other("a"),
            other("b"),
        ];
        w.read(&page(&calls), 3);
        w.forget_before([&anchor("a")]);
        assert!(!w.holds(&anchor("old")));
        // Full pages: `old` is listed below every call still held.
        let more = [
            call("old", "+14155550101", "Confirm"),
            other("a"),
            other("b"),
            other("c"),
        ];
        assert!(w.read(&page(&more[1..]), 3));
        assert!(w.read(&page(&more), 4));
        assert_eq!(w.sight(&sent(), &anchor("a"), true, none), seen(&[], 0));
    }

    #[test]
    fn an_empty_account_anchors_at_its_start() {
        let mut w = Watch::default();
        assert_eq!(w.head(), None, "nothing read yet: no anchor");
        w.read(&[], 100);
        assert_eq!(w.head(), Some(Anchor::Start));
        assert!(w.read(&[call("c1", "+14155550101", "Confirm")], 100));
        assert_eq!(
            w.sight(&sent(), &Anchor::Start, true, none),
            seen(&["c1"], 0)
        );
        assert_eq!(w.head(), Some(anchor("c1")));
    }

    #[test]
    fn an_attempt_of_an_earlier_version_is_settled_only_by_a_whole_list() {
        let mut w = Watch::default();
        let full: Vec<CallRecord> = (0..100).map(|i| other(&format!("x{i}"))).collect();
        w.read(&page(&full), 100);
        assert_eq!(
            w.sight(&sent(), &Anchor::Unrecorded, true, none),
            Sighting::OutOfReach
        );
        let mut w = Watch::default();
        w.read(&page(&full[..99]), 100);
        assert_eq!(
            w.sight(&sent(), &Anchor::Unrecorded, true, none),
            seen(&[], 0)
        );
    }

    #[test]
    fn items_without_number_or_objective_are_counted_as_unreadable() {
        let mut w = Watch::default();
        let bare =
            CallRecord::from_json(serde_json::json!({"id": "b", "status": "queued"})).unwrap();
        w.read(&page(&[other("a"), bare]), 100);
        assert_eq!(w.sight(&sent(), &anchor("a"), true, none), seen(&[], 1));
    }

    #[test]
    fn verdicts() {
        let found = Some((Evidence::Found, None));
        let table = [
            (Sighting::Waiting, false, None),
            (Sighting::Waiting, true, None),
            (
                Sighting::OutOfReach,
                false,
                Some((Evidence::Inconclusive, Some(Doubt::OutOfReach))),
            ),
            (seen(&["c"], 0), false, found.clone()),
            (seen(&["c"], 0), true, found),
            (
                seen(&["c", "d"], 0),
                false,
                Some((Evidence::Inconclusive, Some(Doubt::Several))),
            ),
            // Nothing yet: wait until the wait is over, then it is certain.
            (seen(&[], 0), false, None),
            (seen(&[], 0), true, Some((Evidence::Absent, None))),
            // One candidate beside an unreadable item: either could be it.
            (seen(&["c"], 1), false, None),
            (
                seen(&["c"], 1),
                true,
                Some((Evidence::Inconclusive, Some(Doubt::Unreadable))),
            ),
            (
                seen(&[], 2),
                true,
                Some((Evidence::Inconclusive, Some(Doubt::Unreadable))),
            ),
        ];
        for (sighting, settled, expected) in table {
            assert_eq!(
                judge(&sighting, settled),
                expected,
                "{sighting:?} {settled}"
            );
        }
    }

    #[test]
    fn a_checkpoint_moves_the_anchor_up_only_past_calls_that_cannot_be_the_attempts() {
        let head = || Some(anchor("h"));
        // Nothing since the anchor could be its call: the head is the new anchor.
        assert_eq!(checkpoint(&seen(&[], 0), &anchor("a"), head()), head());
        assert_eq!(checkpoint(&seen(&[], 0), &Anchor::Start, head()), head());
        // Already there, or no head to move to.
        assert_eq!(checkpoint(&seen(&[], 0), &anchor("h"), head()), None);
        assert_eq!(checkpoint(&seen(&[], 0), &anchor("a"), None), None);
        // A candidate, or an item that could be one, stays behind the anchor it has.
        assert_eq!(checkpoint(&seen(&["c1"], 0), &anchor("a"), head()), None);
        assert_eq!(checkpoint(&seen(&[], 1), &anchor("a"), head()), None);
        // The chain does not reach the anchor (yet): nothing is known since it.
        assert_eq!(checkpoint(&Sighting::Waiting, &anchor("a"), head()), None);
        assert_eq!(
            checkpoint(&Sighting::OutOfReach, &anchor("a"), head()),
            None
        );
    }

    #[test]
    fn anchors_round_trip_through_their_column() {
        for a in [Anchor::Start, anchor("c1"), Anchor::Unrecorded] {
            assert_eq!(Anchor::from_column(a.to_column().map(str::to_owned)), a);
        }
    }
}
