//! Majority arithmetic, kept apart so that it can be read and tested alone.

/// The largest value that at least `quorum` of `values` reach: for match
/// indexes it is the highest index stored on a majority; for confirmed
/// ReadIndex rounds it is the latest round a majority has answered.
///
/// # Panics
/// If fewer than `quorum` values are given, or `quorum` is 0.
pub fn quorum_value<T: Ord + Copy>(mut values: Vec<T>, quorum: usize) -> T {
    assert!(
        quorum >= 1 && values.len() >= quorum,
        "quorum {quorum} of {} values",
        values.len()
    );
    values.sort_unstable_by(|left, right| right.cmp(left));
    values[quorum - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quorum_value_is_reached_by_a_majority() {
        assert_eq!(quorum_value(vec![5, 1, 4, 2, 3], 3), 3);
        assert_eq!(quorum_value(vec![9, 9, 1, 1, 1], 3), 1);
        assert_eq!(quorum_value(vec![7], 1), 7);
        assert_eq!(quorum_value(vec![2, 8, 8], 2), 8);
    }
}
