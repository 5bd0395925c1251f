//! Deliberate bugs for tests of the simulator's checks (test-only feature `bug-injection`):
//! `SENTINEL INJECT-BUG <kind>` switches one on in a Sentinel, `DEBUG INJECT-BUG <kind>` in a
//! server. Each kind is a small, realistic mistake (a comparison turned around, a count one
//! short, a write skipped) at one place in the code, guarded by `injected!` (in `lib.rs`), which
//! is `false` without the feature, so a normal build compiles the branch away.

/// One deliberate bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bug {
    /// A Sentinel grants a second vote in an epoch it already voted in.
    VoteTwice,
    /// A Sentinel takes the quorum's votes as a win, without a majority of all Sentinels.
    LeaderNoMajority,
    /// ODOWN is declared with one opinion fewer than the quorum.
    OdownOneShort,
    /// Replica selection prefers the lowest replication offset.
    SelectLowestOffset,
    /// Replica selection keeps replicas with `replica-priority 0`.
    SelectPriorityZero,
    /// A vote is only marked for the next config rewrite, not written before the reply.
    VoteNotDurable,
    /// The config rewrite leaves out `current-epoch`.
    EpochNotSaved,
    /// Hellos announce the master's config epoch one lower than it is.
    HelloStaleEpoch,
    /// A partial resync sends the backlog from one byte after the offset the replica asked for.
    BacklogOffByOne,
    /// A promoted replica keeps its master's replication ID instead of starting a new one.
    PromotionKeepsReplid,
    /// `appendfsync always` skips the fsync after the write.
    FsyncSkipped,
}

/// Every kind with its name on the command line.
pub const KINDS: &[(&str, Bug)] = &[
    ("vote-twice", Bug::VoteTwice),
    ("leader-no-majority", Bug::LeaderNoMajority),
    ("odown-one-short", Bug::OdownOneShort),
    ("select-lowest-offset", Bug::SelectLowestOffset),
    ("select-priority-zero", Bug::SelectPriorityZero),
    ("vote-not-durable", Bug::VoteNotDurable),
    ("epoch-not-saved", Bug::EpochNotSaved),
    ("hello-stale-epoch", Bug::HelloStaleEpoch),
    ("backlog-off-by-one", Bug::BacklogOffByOne),
    ("promotion-keeps-replid", Bug::PromotionKeepsReplid),
    ("fsync-skipped", Bug::FsyncSkipped),
];

/// The bugs switched on in one node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bugs(std::collections::BTreeSet<Bug>);

impl Bugs {
    /// Switches on the kind named `name` (case-insensitive); false if there is no such kind.
    pub fn switch_on(&mut self, name: &[u8]) -> bool {
        let found = KINDS
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name));
        let Some((_, bug)) = found else {
            return false;
        };
        self.0.insert(*bug);
        true
    }

    pub fn has(&self, bug: Bug) -> bool {
        self.0.contains(&bug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bug_is_switched_on_by_its_name_in_any_case() {
        let mut b = Bugs::default();
        assert!(b.switch_on(b"Leader-No-Majority"));
        assert!(b.has(Bug::LeaderNoMajority));
        assert!(!b.has(Bug::VoteTwice));
        assert!(!b.switch_on(b"no-such-bug"));
    }
}
