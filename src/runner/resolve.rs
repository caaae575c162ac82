//! The runner's side of lost answers: it reads the account's list of calls when an answer is
//! lost (at once, then every [`READ_EVERY`] or sooner), keeps the chain of reads unbroken by
//! counting its own placements ([`super::lost::REACH`]), and applies the verdicts of
//! [`super::lost::judge`] through [`crate::state::after_resolve`].
//!
//! Every run reads the list once before it places anything: every attempt needs an anchor (a
//! call known to exist before its POST), and the attempts an earlier run left open are judged
//! against that read.

use std::time::Duration;

use jiff::Timestamp;

use super::following::held_note;
use super::lost::{self, Anchor, Doubt, LIST_LIMIT, REACH, READ_AHEAD, Sent, Sighting, Watch};
use super::place::Posting;
use super::{Event, RunError, Runner, later};
use crate::api::{ApiError, CallRecord, ErrorClass};
use crate::state::{self, ContactState, Evidence, Placement};
use crate::store::{NewCall, OpenAttempt, PAUSED, Posted, StoreError};
use crate::text::escape_control;

/// Between reads while an answer is lost, in simulated time: a call that took effect late is
/// found within this long.
pub const READ_EVERY: Duration = Duration::from_secs(15);

/// And at least this much real time between them, so a rehearsal's fast clock does not turn
/// them into a stream of requests.
pub const READ_EVERY_REAL: Duration = Duration::from_secs(1);

/// Lost answers and the reads that settle them.
#[derive(Debug, Default)]
pub(super) struct Resolve {
    watch: Watch,
    pub(super) unsettled: Vec<Unsettled>,
    /// When the next read is due (`None`: no read is wanted).
    read_at: Option<Timestamp>,
    /// The read out, if any.
    listing: Option<Asked>,
    /// A read asked after the one out is wanted: an answer was lost after it was asked.
    again: bool,
    /// The newest call known to exist, and this run's placements from which a call of ours could
    /// be newer (see [`Resolve::mark`]). `None` until the first read: nothing is placed before.
    known: Option<(Anchor, u64)>,
    /// Placements claimed in this run.
    seq: u64,
    /// The mark of the chain's last read.
    chain_mark: u64,
    /// Placing is paused until the next read (said once per pause).
    paused: bool,
    /// When a read was last asked to learn whether the API answers at all (see
    /// [`Runner::probe`]).
    probed: Option<Timestamp>,
    /// Attempts given up as unknown without a call wait for the run's first read (see
    /// [`Runner::look_for_strays`]).
    strays: bool,
}

/// A POST whose answer was lost, being settled.
#[derive(Debug)]
pub(super) struct Unsettled {
    pub(super) attempt: i64,
    pub(super) key: String,
    sent: Sent,
    anchor: Anchor,
    /// The anchor the state file holds for it: [`Unsettled::anchor`], or a later checkpoint
    /// ([`lost::checkpoint`]) for a resumed run. This run's chain keeps reading back to
    /// `anchor`, which also lets it see calls that show in the list late.
    saved: Anchor,
    /// From which of this run's placements a call of ours could be newer than the anchor.
    mark: u64,
    created_at: Timestamp,
    /// The instants after which a read may find it absent (`limits.lost_answer_wait` after it
    /// was made, in simulated and in real time; no real time on a manual clock).
    settle_at: Timestamp,
    settle_wall: Option<Timestamp>,
    /// A read asked after it was made has been added to the chain.
    read_since: bool,
    /// What it holds in the account's shared record.
    subject: Option<String>,
}

/// A read out: when it was asked, and the placement mark then.
#[derive(Debug, Clone, Copy)]
struct Asked {
    at: Timestamp,
    wall: Timestamp,
    mark: u64,
}

/// How a claimed attempt stands in the account's calls (see [`super::lost::Anchor`]).
#[derive(Debug, Clone)]
pub(super) struct Stand {
    pub(super) seq: u64,
    pub(super) anchor: Anchor,
    pub(super) mark: u64,
    pub(super) wall: Timestamp,
}

impl Resolve {
    /// Whether the first read of the run has come back: placing may start.
    pub(super) fn ready(&self) -> bool {
        self.known.is_some()
    }

    /// Whether the run must wait for its first read before it may end: strays to look for.
    pub(super) fn strays_waiting(&self) -> bool {
        self.strays && !self.ready()
    }

    pub(super) fn reading(&self) -> bool {
        self.listing.is_some()
    }

    /// When the loop must wake for the next read, if none is out.
    pub(super) fn wake(&self) -> Option<Timestamp> {
        if self.listing.is_some() {
            None
        } else {
            self.read_at
        }
    }

    /// The placements that must stay within the page until the next read, counted back from
    /// the oldest thing that needs a read: an anchor not seen in the chain yet, or the chain's
    /// last read.
    fn need<'a>(&self, postings: impl Iterator<Item = &'a Stand>) -> u64 {
        let since = |anchor: &Anchor, mark: u64| {
            let from = if self.watch.holds(anchor) {
                self.chain_mark
            } else {
                mark
            };
            self.seq.saturating_sub(from)
        };
        let posting = postings.map(|p| since(&p.anchor, p.mark));
        let lost = self.unsettled.iter().map(|u| since(&u.anchor, u.mark));
        posting.chain(lost).max().unwrap_or(0)
    }
}

impl Runner {
    /// Placements between two reads in real time, in simulated time.
    fn read_every(&self) -> Duration {
        self.clock.at_least_real(READ_EVERY, READ_EVERY_REAL)
    }

    /// The mark for a read or an anchor learned now: the oldest POST still out, or the next one.
    fn mark(&self) -> u64 {
        self.place
            .posts
            .values()
            .map(|p| p.stand.seq)
            .min()
            .unwrap_or(self.resolve.seq)
            .min(self.resolve.seq)
    }

    /// The anchor of the next attempt, with its sequence number in this run.
    pub(super) fn next_stand(&mut self) -> Option<Stand> {
        let (anchor, mark) = self.resolve.known.clone()?;
        let seq = self.resolve.seq;
        self.resolve.seq += 1;
        Some(Stand {
            seq,
            anchor,
            mark,
            wall: Timestamp::now(),
        })
    }

    /// A POST was answered with `call_id`: the newest call known to exist.
    pub(super) fn learned(&mut self, call_id: &str) {
        let mark = self.mark();
        if self.resolve.known.as_ref().is_none_or(|(_, m)| *m <= mark) {
            self.resolve.known = Some((Anchor::After(call_id.to_owned()), mark));
        }
    }

    /// How many more placements the chain of reads allows before the next read (asking it when
    /// it is time); 0: placing pauses until a read comes back (said on the progress line and,
    /// through the state file, by `status`).
    pub(super) fn reach_room(&mut self, now: Timestamp) -> Result<usize, RunError> {
        let need = self
            .resolve
            .need(self.place.posts.values().map(|p| &p.stand));
        if need >= READ_AHEAD && !self.resolve.reading() {
            self.resolve.read_at = Some(now);
        }
        let room = REACH.saturating_sub(need) as usize;
        if room == 0 && !self.resolve.paused {
            self.resolve.paused = true;
            let since = Timestamp::now();
            self.store.set_meta(
                PAUSED,
                &since.round(jiff::Unit::Second).unwrap_or(since).to_string(),
            )?;
            self.progress.note(&format!(
                "placing paused: {} lost answer(s) being looked for in the API's list of calls, \
                 which shows the newest {LIST_LIMIT}; placing resumes when the list has been read \
                 again",
                self.resolve.unsettled.len()
            ));
        }
        Ok(room)
    }

    /// Whether placing waits for a read (for `status` and the progress line).
    pub fn paused_for_reach(&self) -> bool {
        self.resolve.paused
    }

    /// At the start of a run: the first read is asked before anything is placed.
    pub(super) fn first_read(&mut self, now: Timestamp) -> Result<(), RunError> {
        self.resolve.read_at = Some(now);
        self.resolve.strays = !self.store.strays(late_since(now), None, 1)?.is_empty();
        Ok(())
    }

    /// An attempt an earlier run left `placing` or `ambiguous`. With a sandbox of this process's
    /// own, the API that may have made its call ended with that run: nothing can still create
    /// it, and nothing can show it.
    pub(super) fn recovered(&mut self, open: OpenAttempt, now: Timestamp) -> Result<(), RunError> {
        let Ok(sent) = serde_json::from_str::<Sent>(&open.request) else {
            return Err(RunError::Store(StoreError::Corrupt {
                path: self.store.path().to_owned(),
                message: format!("attempt {} has an unreadable request body", open.id),
            }));
        };
        if self.options.private_api {
            let placement = state::after_resolve(&Evidence::Absent);
            let placement = Placement {
                attempt: placement.0,
                contact: placement.1,
                due: None,
            };
            let posted = Posted::no_call(
                placement,
                "the rehearsal's sandbox ended with the run that sent this POST: no call of it \
                 can exist now",
            );
            self.store
                .record_placement(open.id, &open.contact_key, &posted, now)?;
            return Ok(());
        }
        let wait = self.campaign.limits.lost_answer_wait;
        let created_wall = open.created_wall.unwrap_or(open.created_at);
        // Held again: the run that held it may have stopped before the hold reached the disk.
        let subject = match &self.account {
            Some(record) => {
                let subject = crate::store::account::subject(&sent.to, &sent.objective);
                record.hold(&subject, Timestamp::now())?;
                Some(subject)
            }
            None => None,
        };
        self.resolve.unsettled.push(Unsettled {
            attempt: open.id,
            key: open.contact_key,
            sent,
            saved: Anchor::from_column(open.anchor.clone()),
            anchor: Anchor::from_column(open.anchor),
            mark: 0,
            created_at: open.created_at,
            settle_at: later(open.created_at, wait),
            settle_wall: self.clock.scale().map(|_| later(created_wall, wait)),
            read_since: false,
            subject,
        });
        Ok(())
    }

    /// A POST's answer was lost: its call may exist. The list is read at once (the call usually
    /// exists already), then again until the attempt is settled.
    pub(super) fn lost_answer(&mut self, attempt: i64, posting: Posting, now: Timestamp) {
        let wait = self.campaign.limits.lost_answer_wait;
        let stand = posting.stand;
        self.resolve.unsettled.push(Unsettled {
            attempt,
            key: posting.key,
            sent: posting.sent,
            saved: stand.anchor.clone(),
            anchor: stand.anchor,
            mark: stand.mark,
            created_at: posting.created_at,
            settle_at: later(posting.created_at, wait),
            settle_wall: self.clock.scale().map(|_| later(stand.wall, wait)),
            read_since: false,
            subject: posting.subject,
        });
        self.want_read(now);
    }

    /// Only placements fail, to a few numbers: a read of the list, which depends on no number,
    /// tells an outage from refusals of those numbers (at most one every [`READ_EVERY`]).
    pub(super) fn probe(&mut self, now: Timestamp) {
        if self
            .resolve
            .probed
            .is_some_and(|at| now < later(at, self.read_every()))
        {
            return;
        }
        self.resolve.probed = Some(now);
        self.want_read(now);
    }

    fn want_read(&mut self, now: Timestamp) {
        if self.resolve.reading() {
            self.resolve.again = true;
        } else {
            self.resolve.read_at = Some(self.resolve.read_at.map_or(now, |at| at.min(now)));
        }
    }

    /// Sends the read if one is due and none is out.
    pub(super) fn start_read(&mut self, now: Timestamp) {
        if self.resolve.reading() || self.resolve.read_at.is_none_or(|at| at > now) {
            return;
        }
        self.resolve.listing = Some(Asked {
            at: now,
            wall: Timestamp::now(),
            mark: self.mark(),
        });
        self.resolve.read_at = None;
        self.resolve.again = false;
        let client = self.client.clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let result = client.list_calls(LIST_LIMIT).await;
            let _ = tx.send(Event::Listed { result });
        });
    }

    /// The answer to a read: the chain grows by it, and every lost answer it can speak for is
    /// judged.
    pub(super) fn listed(
        &mut self,
        result: Result<Vec<CallRecord>, ApiError>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let Some(asked) = self.resolve.listing.take() else {
            return Ok(());
        };
        let recent = match result {
            Ok(recent) => {
                self.api_answered();
                recent
            }
            Err(err) => {
                // Settling needs the list: whatever keeps it from being read (a 4xx too) counts
                // towards an outage, so it cannot hold the run for ever.
                self.trouble(&err, None, now);
                if err.class() == ErrorClass::StopRun {
                    self.stop.stop(super::Ending::Refused(err.to_string()));
                }
                if !self.resolve.unsettled.is_empty() || !self.resolve.ready() {
                    self.progress.note(&format!(
                        "could not read the API's list of recent calls: {err}; retrying"
                    ));
                }
                self.resolve.read_at = Some(later(now, super::follow::POLL_EVERY));
                return Ok(());
            }
        };
        let first = !self.resolve.ready();
        self.resolve.watch.read(&recent, usize::from(LIST_LIMIT));
        self.resolve.chain_mark = asked.mark;
        if let Some(head) = self.resolve.watch.head()
            && self
                .resolve
                .known
                .as_ref()
                .is_none_or(|(_, m)| *m <= asked.mark)
        {
            self.resolve.known = Some((head, asked.mark));
        }
        if std::mem::take(&mut self.resolve.paused) {
            self.store.clear_meta(PAUSED)?;
        }
        let lost = std::mem::take(&mut self.resolve.unsettled);
        let mut checkpoints = Vec::new();
        for mut u in lost {
            if asked.at >= u.created_at {
                u.read_since = true;
            }
            let settled = asked.at >= u.settle_at && u.settle_wall.is_none_or(|w| asked.wall >= w);
            let sighting = {
                let mut failed = None;
                let sighting = self
                    .resolve
                    .watch
                    .sight(&u.sent, &u.anchor, u.read_since, |id| {
                        self.taken(id).unwrap_or_else(|err| {
                            failed = Some(err);
                            true
                        })
                    });
                if let Some(err) = failed {
                    return Err(err.into());
                }
                sighting
            };
            tracing::debug!(
                attempt = u.attempt,
                anchor = ?u.anchor,
                read_since = u.read_since,
                settled,
                ?sighting,
                chains = self.resolve.watch.chains(),
                "lost answer looked for"
            );
            match lost::judge(&sighting, settled) {
                None => {
                    if let Some(to) =
                        lost::checkpoint(&sighting, &u.saved, self.resolve.watch.head())
                    {
                        checkpoints.push((u.attempt, to.clone()));
                        u.saved = to;
                    }
                    self.resolve.unsettled.push(u);
                }
                Some((evidence, doubt)) => {
                    let call = match &sighting {
                        Sighting::Seen { calls, .. } if evidence == Evidence::Found => {
                            calls.first().cloned()
                        }
                        _ => None,
                    };
                    let record = call
                        .as_ref()
                        .and_then(|id| recent.iter().find(|c| &c.id == id));
                    self.settle(u, evidence, doubt, call, record, now)?;
                }
            }
        }
        // The chain itself ends with the run: what it ruled out is kept in the state file, so a
        // run resumed after a kill reads back only as far as this read's newest call.
        self.store.checkpoint_anchors(
            checkpoints
                .iter()
                .map(|(attempt, to)| (*attempt, to.to_column())),
            now,
        )?;
        if first {
            self.look_for_strays(now)?;
        }
        let anchors: Vec<Anchor> = self
            .resolve
            .unsettled
            .iter()
            .map(|u| u.anchor.clone())
            .chain(self.place.posts.values().map(|p| p.stand.anchor.clone()))
            // The next attempt's anchor, which may be a call the chain holds.
            .chain(self.resolve.known.iter().map(|(a, _)| a.clone()))
            .collect();
        self.resolve.watch.forget_before(&anchors);
        if self.resolve.again {
            self.resolve.again = false;
            self.resolve.read_at = Some(now);
        } else if !self.resolve.unsettled.is_empty() {
            let next = later(now, self.read_every());
            // Read again once the oldest wait is over, to settle it without a further delay.
            let settle = self
                .resolve
                .unsettled
                .iter()
                .map(|u| u.settle_at)
                .filter(|&at| at > now)
                .min();
            self.resolve.read_at = Some(settle.map_or(next, |s| s.min(next)));
        }
        Ok(())
    }

    /// Whether `id` is not to be taken for a lost answer's call: this campaign knows it, or
    /// another campaign on the account owns it.
    fn taken(&self, id: &str) -> Result<bool, StoreError> {
        if self.store.knows_call(id)? {
            return Ok(true);
        }
        match &self.account {
            Some(record) => record.owned_by_another(id),
            None => Ok(false),
        }
    }

    /// On the first read of a run: attempts given up as unknown without a call (lost answers
    /// the list could not settle, by this run's version or an earlier one) are looked for in it.
    /// A single candidate newer than the attempt's anchor is its call: asked about like any call
    /// given up (see [`super::late`]), its result is recorded when it comes.
    fn look_for_strays(&mut self, now: Timestamp) -> Result<(), RunError> {
        for stray in self
            .store
            .strays(late_since(now), None, super::LATE_CHECKS)?
        {
            let Ok(sent) = serde_json::from_str::<Sent>(&stray.request) else {
                continue;
            };
            let anchor = Anchor::from_column(stray.anchor.clone());
            let mut failed = None;
            let sighting = self.resolve.watch.sight(&sent, &anchor, true, |id| {
                self.taken(id).unwrap_or_else(|err| {
                    failed = Some(err);
                    true
                })
            });
            if let Some(err) = failed {
                return Err(err.into());
            }
            if let Sighting::Seen {
                calls,
                unreadable: 0,
            } = &sighting
                && let [call_id] = calls.as_slice()
            {
                self.adopt_stray(&stray, call_id, "found in the API's list of calls", now)?;
            }
        }
        Ok(())
    }

    /// The call of an attempt given up as unknown without one was found (`how`): it is
    /// followed like any placed call (or, if its contact was called again since, asked about
    /// for its result, see [`super::late`]).
    fn adopt_stray(
        &mut self,
        stray: &crate::store::Stray,
        call_id: &str,
        how: &str,
        now: Timestamp,
    ) -> Result<bool, RunError> {
        let note = format!("the call its lost answer may have placed was {how}: {call_id}");
        let Some(followed) =
            self.store
                .adopt_unknown_call(stray.attempt, &stray.key, call_id, &note, now)?
        else {
            return Ok(false);
        };
        self.owned(call_id, None, None)?;
        self.progress.note(&format!(
            "contact {}: {note}; its result is recorded when it comes",
            escape_control(&stray.key)
        ));
        if followed {
            self.follow(
                stray.attempt,
                stray.key.clone(),
                call_id.to_owned(),
                stray.created_at,
                0,
                stray.calls,
                now,
            );
            self.adopt_pushed(stray.attempt)?;
        } else {
            let call = crate::store::LateCall {
                attempt: stray.attempt,
                key: stray.key.clone(),
                call_id: call_id.to_owned(),
                calls: stray.calls,
            };
            self.late.ask_later(call, now);
        }
        Ok(true)
    }

    /// A verified webhook event for `call_id`, a call this campaign does not know: if exactly
    /// one lost answer (being settled, or given up as unknown) sent its number and objective
    /// before the event, the call is that attempt's (the receiver hears only of calls whose POST
    /// named it). Whether it was adopted.
    pub(super) fn adopt_by_event(
        &mut self,
        call_id: &str,
        record: &CallRecord,
        now: Timestamp,
    ) -> Result<bool, RunError> {
        let (Some(to), Some(objective)) = (&record.to, &record.objective) else {
            return Ok(false);
        };
        if self.taken(call_id)? {
            return Ok(false);
        }
        let sent = Sent {
            to: to.clone(),
            objective: objective.clone(),
        };
        let lost: Vec<usize> = self
            .resolve
            .unsettled
            .iter()
            .enumerate()
            .filter(|(_, u)| u.sent == sent)
            .map(|(i, _)| i)
            .collect();
        let strays: Vec<crate::store::Stray> = self
            .store
            .strays(late_since(now), Some(to), super::LATE_CHECKS)?
            .into_iter()
            .filter(|s| serde_json::from_str::<Sent>(&s.request).is_ok_and(|s| s == sent))
            .collect();
        match (lost.as_slice(), strays.as_slice()) {
            ([i], []) => {
                let u = self.resolve.unsettled.remove(*i);
                self.settle(
                    u,
                    Evidence::Found,
                    None,
                    Some(call_id.to_owned()),
                    Some(record),
                    now,
                )?;
                Ok(true)
            }
            ([], [stray]) => self.adopt_stray(stray, call_id, "named by a webhook event", now),
            _ => Ok(false),
        }
    }

    /// Applies a verdict on a lost answer.
    pub(super) fn settle(
        &mut self,
        lost: Unsettled,
        evidence: Evidence,
        doubt: Option<Doubt>,
        call: Option<String>,
        record: Option<&CallRecord>,
        now: Timestamp,
    ) -> Result<(), RunError> {
        let (attempt_state, contact_state) = state::after_resolve(&evidence);
        let held_until = self.number_held_until(now);
        let placement = Placement {
            attempt: attempt_state,
            contact: contact_state,
            due: (contact_state == ContactState::Unknown).then_some(held_until),
        };
        match (evidence, call) {
            (Evidence::Found, Some(call_id)) => {
                let status = record.map(|r| r.status.as_str().to_owned());
                // Its deadlines run from when the API created it (a POST held on its way takes
                // effect late), never from later than now.
                let placed_at = record
                    .and_then(|r| r.created_at)
                    .map_or(lost.created_at, |created| {
                        created.clamp(lost.created_at, now.max(lost.created_at))
                    });
                let next = self.next_poll(placed_at, now, 0);
                let posted = Posted {
                    placement,
                    call: Some(NewCall {
                        id: &call_id,
                        status: status.as_deref(),
                        next_poll_at: Some(next),
                    }),
                    note: Some("the lost placement was found in the API's list of calls"),
                };
                if !self
                    .store
                    .record_placement(lost.attempt, &lost.key, &posted, now)?
                {
                    // A webhook event adopted it meanwhile, and follows it.
                    return Ok(());
                }
                self.learned(&call_id);
                self.owned(&call_id, lost.subject.as_deref(), None)?;
                let calls = self.store.contact_calls(&lost.key)?;
                self.follow(lost.attempt, lost.key, call_id, placed_at, 0, calls, now);
                self.following.seen(lost.attempt, status);
                self.adopt_pushed(lost.attempt)?;
            }
            (evidence, _) => {
                let absent = evidence == Evidence::Absent;
                let note = if absent {
                    format!(
                        "no call was created: the API's list of calls shows none since the attempt, \
                         {} after it was made (limits.lost_answer_wait)",
                        crate::campaign::duration::format(self.campaign.limits.lost_answer_wait)
                    )
                } else {
                    doubt.unwrap_or(Doubt::OutOfReach).reason().to_owned()
                };
                let posted = Posted::no_call(placement, &note);
                if !self
                    .store
                    .record_placement(lost.attempt, &lost.key, &posted, now)?
                {
                    return Ok(());
                }
                // An unknown call may still be made until the wait is over: the number and
                // objective stay held for other campaigns until then.
                let until = (!absent).then(|| {
                    lost.settle_wall
                        .unwrap_or(lost.settle_at)
                        .max(Timestamp::now())
                });
                self.owned("", lost.subject.as_deref(), until)?;
                if !absent {
                    self.guards.unknown_call();
                    self.progress.note(&format!(
                        "contact {} is unknown: its call may or may not have been placed; {}",
                        escape_control(&lost.key),
                        held_note(held_until)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// How far back calls given up as unknown are looked at again: [`super::LATE_WINDOW`].
fn late_since(now: Timestamp) -> Timestamp {
    now.checked_sub(
        jiff::SignedDuration::try_from(super::LATE_WINDOW).unwrap_or(jiff::SignedDuration::MAX),
    )
    .unwrap_or(Timestamp::MIN)
}

#[cfg(test)]
mod tests {
    use super::super::testing::Rig;
    use super::*;
    use crate::sandbox::SandboxConfig;
    use crate::sandbox::faults::Faults;

    #[tokio::test]
    async fn a_lost_answer_is_found_in_the_list_of_calls_and_followed() {
        // Every POST's answer is lost, its call created all the same.
        let config = SandboxConfig {
            faults: Faults {
                drop_after_create: 1.0,
                ..Faults::default()
            },
            ..SandboxConfig::default()
        };
        let mut rig = Rig::new(&["+14155550190"], "", config).await;
        rig.start().await;
        assert_eq!(rig.place().await, 1);
        assert_eq!(rig.runner.resolve.unsettled.len(), 1);
        assert_eq!(rig.runner.following.len(), 0);
        assert_eq!(rig.states(), [ContactState::Active]);
        // The list is read at once, and shows the call.
        assert_eq!(rig.runner.resolve.wake(), Some(rig.now()));
        rig.read().await;
        assert!(rig.runner.resolve.unsettled.is_empty());
        assert_eq!(rig.runner.following.len(), 1);
        let call = rig.sandbox.calls()[0]["id"].as_str().unwrap().to_owned();
        let attempt = rig.runner.following.by_call(&call);
        assert!(attempt.is_some(), "its call {call} is followed");
        assert_eq!(rig.states(), [ContactState::Active]);
    }

    #[tokio::test]
    async fn a_post_left_placing_for_a_private_sandbox_that_ended_was_never_placed() {
        let options = super::super::Options {
            private_api: true,
            ..Default::default()
        };
        let mut rig = Rig::with(&["+14155550190"], "", SandboxConfig::default(), options).await;
        let now = rig.now();
        let request = r#"{"to":"+14155550190","objective":"Hi Ann"}"#;
        let key = rig.rows()[0].key.clone();
        let begun = rig
            .runner
            .store
            .begin_attempt(&key, "k-1", request, None, now, now);
        assert!(begun.unwrap().is_some());
        rig.runner.commit_group().unwrap();
        rig.start().await;
        assert!(rig.runner.resolve.unsettled.is_empty());
        assert_eq!(rig.states(), [ContactState::Pending]);
        assert!(rig.sandbox.calls().is_empty());
    }
}
