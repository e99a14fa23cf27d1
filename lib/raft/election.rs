//! Leader election (§5.2), the election restriction (§5.4.1) and pre-vote
//! (thesis §9.6): starting a campaign, answering vote requests and counting
//! the answers.

use super::ids::{EntryId, NodeId, Term};
use super::message::{Body, Message};
use super::node::RaftNode;
use super::types::Role;
use crate::verdict::Verdict;

impl RaftNode {
    /// Starts a campaign: a pre-vote round if configured, else a real
    /// election. Leaders do nothing.
    pub(super) fn start_election(&mut self) {
        if self.role == Role::Leader {
            log::debug!("{} ignoring campaign: already leader", self.tag());
            return;
        }
        if self.config.pre_vote {
            self.become_pre_candidate();
        } else {
            self.become_candidate();
        }
        self.request_votes();
    }

    /// Votes for itself and asks every other node for its vote.
    fn request_votes(&mut self) {
        let pre_vote = self.role == Role::PreCandidate;
        // A pre-candidate asks about the term it would campaign in.
        //
        // Its own vote counts at once. That is safe because answers can only
        // be stepped after `advance`, that is once the Ready carrying this
        // term and vote is on disk. (A single-node cluster wins before that
        // write; if it crashes first it may win the same term again, but no
        // other node saw the first win and nothing of it was committed:
        // commits wait for the leader's own disk.)
        let term = if pre_vote {
            self.term.next()
        } else {
            self.term
        };
        self.votes[self.id.0] = Some(true);
        if self.maybe_finish_election() {
            return;
        }
        let last_log = self.log.last_entry_id();
        let peers: Vec<NodeId> = self.peers().collect();
        for peer in peers {
            let body = if pre_vote {
                Body::PreVote { last_log }
            } else {
                Body::Vote { last_log }
            };
            let message = Message {
                from: self.id,
                to: peer,
                term,
                body,
            };
            self.messages_now.push(message);
        }
    }

    /// Answers a PreVote or Vote from `from` for `term`. The term rules
    /// already ran (node.rs `step`), so the request's term is at least ours
    /// unless it is a pre-vote for our current term.
    pub(super) fn on_vote_request(
        &mut self,
        from: NodeId,
        term: Term,
        pre_vote: bool,
        last_log: EntryId,
    ) -> Verdict {
        // One vote per term (§5.2): repeat it for the same candidate, else
        // grant only if not yet voted and no leader is known. A pre-vote for
        // a later term binds nothing, so it is judged on the log alone.
        let can_vote = self.vote == Some(from)
            || (self.vote.is_none() && self.leader.is_none())
            || (pre_vote && term > self.term);
        let granted = can_vote && self.log.is_up_to_date(last_log);
        log::debug!(
            "{} {} {}vote of {from} in {term} (last {}, ours {})",
            self.tag(),
            if granted { "grants" } else { "rejects" },
            if pre_vote { "pre-" } else { "" },
            last_log,
            self.log.last_entry_id()
        );
        // A grant answers in the candidate's term; a rejection in ours, so
        // that a candidate behind us learns the newer term.
        let (answer_term, body) = match (pre_vote, granted) {
            (true, true) => (term, Body::PreVoteResponse { granted }),
            (true, false) => (self.term, Body::PreVoteResponse { granted }),
            (false, true) => (term, Body::VoteResponse { granted }),
            (false, false) => (self.term, Body::VoteResponse { granted }),
        };
        if granted && !pre_vote {
            self.vote = Some(from);
            self.election_elapsed = 0;
        }
        // Sent after persist: a vote must survive a crash (Figure 2).
        self.send_after_persist(from, answer_term, body);
        Verdict::Handled
    }

    /// Why an answer to this node's (pre-)vote request is dropped, if it
    /// is: it answers a request of another term (a granted pre-vote answers
    /// in the term the pre-candidate would campaign in).
    pub(super) fn ignore_vote_answer(&self, term: Term, granted: bool) -> Option<&'static str> {
        let expected_term = match (self.role, granted) {
            (Role::PreCandidate, true) => self.term.next(),
            _ => self.term,
        };
        (term != expected_term).then_some("an answer to another term's request")
    }

    /// Counts one answer to this node's (pre-)vote request.
    pub(super) fn on_vote_response(&mut self, from: NodeId, granted: bool) {
        if self.votes[from.0].is_none() {
            self.votes[from.0] = Some(granted);
        }
        self.maybe_finish_election();
    }

    /// Moves on once a majority has answered one way: a pre-candidate starts
    /// the real election, a candidate becomes leader; a majority of
    /// rejections makes either a follower. Returns whether the round ended.
    fn maybe_finish_election(&mut self) -> bool {
        let quorum = self.config.quorum();
        let granted = self
            .votes
            .iter()
            .filter(|vote| **vote == Some(true))
            .count();
        let rejected = self
            .votes
            .iter()
            .filter(|vote| **vote == Some(false))
            .count();
        if granted >= quorum {
            match self.role {
                Role::PreCandidate => {
                    self.become_candidate();
                    self.request_votes();
                }
                Role::Candidate => self.become_leader(),
                // Votes are counted only by `request_votes` and
                // `on_vote_response`, which run for (pre-)candidates alone
                // (`step_candidate` routes answers by role): no message
                // reaches this.
                role => panic!("{} counting votes as {role}", self.tag()),
            }
            return true;
        }
        if rejected >= quorum {
            log::debug!("{} lost the election", self.tag());
            self.become_follower(self.term, None);
            return true;
        }
        false
    }
}
