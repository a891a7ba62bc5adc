//! Completion indexes of Indexed Jobs and their compressed text form (`status.completedIndexes`,
//! `status.failedIndexes`, `successPolicy.rules[].succeededIndexes`): increasing decimal
//! numbers separated by commas, three or more consecutive numbers written as `first-last`.
//!
//! ```text
//! {1, 3, 4, 5, 7}  <->  "1,3-5,7"      {1, 2}  <->  "1,2"
//! ```

use std::collections::BTreeSet;

/// A set of completion indexes.
pub type IndexSet = BTreeSet<u32>;

/// Parses the text form; indexes at or above `limit` (the Job's completions) are dropped, as
/// upstream ignores them. Malformed parts are skipped rather than failing the whole set.
pub fn parse(text: Option<&str>, limit: u32) -> IndexSet {
    let mut set = IndexSet::new();
    for part in text.unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>(), b.trim().parse::<u32>()),
            None => (part.parse::<u32>(), part.parse::<u32>()),
        };
        let (Ok(first), Ok(last)) = (first, last) else { continue };
        set.extend((first..=last.min(limit.saturating_sub(1))).take_while(|i| *i < limit));
    }
    set
}

/// The compressed text form (empty for an empty set).
pub fn format(set: &IndexSet) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.peek() == Some(&(last + 1)) {
            last += 1;
            iter.next();
        }
        match last - first {
            0 => parts.push(first.to_string()),
            1 => parts.push(format!("{first},{last}")),
            _ => parts.push(format!("{first}-{last}")),
        }
    }
    parts.join(",")
}

/// The lowest `count` indexes below `completions` that are in none of `taken`.
pub fn first_free(completions: u32, taken: &[&IndexSet], count: usize) -> Vec<u32> {
    (0..completions).filter(|i| !taken.iter().any(|set| set.contains(i))).take(count).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[u32]) -> IndexSet {
        items.iter().copied().collect()
    }

    #[test]
    fn three_or_more_consecutive_indexes_are_compressed() {
        assert_eq!(format(&set(&[1, 3, 4, 5, 7])), "1,3-5,7");
        assert_eq!(format(&set(&[0, 1])), "0,1");
        assert_eq!(format(&set(&[0, 1, 2, 3, 9, 10])), "0-3,9,10");
        assert_eq!(format(&set(&[])), "");
    }

    #[test]
    fn parsing_reverses_formatting_and_drops_out_of_range_indexes() {
        assert_eq!(parse(Some("1,3-5,7"), 10), set(&[1, 3, 4, 5, 7]));
        assert_eq!(parse(Some("1,3-5,7"), 5), set(&[1, 3, 4]));
        assert_eq!(parse(Some(""), 5), set(&[]));
        assert_eq!(parse(None, 5), set(&[]));
        assert_eq!(parse(Some("0,x,2"), 5), set(&[0, 2]));
        let original = set(&[0, 2, 3, 4, 8]);
        assert_eq!(parse(Some(&format(&original)), 100), original);
    }

    #[test]
    fn free_indexes_are_the_lowest_not_taken() {
        let completed = set(&[0, 2]);
        let active = set(&[1]);
        assert_eq!(first_free(6, &[&completed, &active], 2), vec![3, 4]);
        assert_eq!(first_free(3, &[&completed, &active], 2), Vec::<u32>::new());
    }
}
