//! [`View`]: who takes the sequencing turns, from which number on.
//!
//! A view has a number, an ordered list of members (the *turn list*) and a
//! start. Numbers from the start on are assigned in turn by the listed
//! members: number `k >= start` by `members[(k - start) mod len]`. Numbers
//! below the start were fixed by the view change that made the view (its
//! `NewView` carries them). View 0 lists every member and starts at 0, so its
//! owner of `k` is `k mod n`: the protocol without view changes.
//!
//! A [`ViewStamp`] goes in every message: the sender's view number, and the
//! view whose log it holds (`log_view`, equal to `view` when the sender is
//! working in its view, lower while it is changing views). Receivers use it
//! to drop stale messages and to count only watermarks of their own view.

use std::fmt;

use super::ids::{GlobalSeq, MemberId};

/// One view: its number, its turn list and the first number it assigns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The view number; views only grow.
    pub number: u64,
    /// The members that take turns, in turn order (ascending ids).
    pub members: Vec<MemberId>,
    /// The first number assigned in this view; every lower number is fixed
    /// by the view's log.
    pub start: GlobalSeq,
}

/// The view facts every message carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewStamp {
    /// The view the sender is in, or is changing to.
    pub view: u64,
    /// The view whose log the sender holds: `view` while it works in it,
    /// lower while a view change is under way.
    pub log_view: u64,
}

impl View {
    /// View 0: every member takes turns, number `k` by member `k mod n`.
    pub fn initial(members: u16) -> View {
        View {
            number: 0,
            members: (0..members).map(MemberId).collect(),
            start: GlobalSeq(0),
        }
    }

    /// The member that assigns `global` in this view; None below the start
    /// (those numbers are fixed by the view's log, not assigned in it).
    pub fn owner(&self, global: GlobalSeq) -> Option<MemberId> {
        if global < self.start || self.members.is_empty() {
            return None;
        }
        let turn = (global.0 - self.start.0) % self.members.len() as u64;
        Some(self.members[turn as usize])
    }

    /// True if `member` takes turns in this view.
    pub fn lists(&self, member: MemberId) -> bool {
        self.members.contains(&member)
    }
}

impl ViewStamp {
    /// True if the sender works in its view (not changing views).
    pub fn is_normal(self) -> bool {
        self.view == self.log_view
    }
}

/// The member that gathers the state of a majority and starts view `view`:
/// views take coordinators round the group, so a dead coordinator costs one
/// timeout and the next view has another.
pub fn coordinator(view: u64, members: u16) -> MemberId {
    MemberId((view % u64::from(members)) as u16)
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{} [", self.number)?;
        for (index, member) in self.members.iter().enumerate() {
            let separator = if index == 0 { "" } else { " " };
            write!(f, "{separator}{}", member.0)?;
        }
        write!(f, "] from {}", self.start)
    }
}
