//! Paging of the lists that grow without bound: a search's results and a
//! seller's items. A caller asks for at most `limit` items after a cursor
//! and gets the page plus, when more items follow, the cursor of the next
//! page.
//!
//! The cursor is a *position* in the list's order, not an offset: the rank
//! (how many searched keywords the last item listed carries; 0 in lists
//! ordered by id alone) and that item's id. The next page starts just after
//! that position, so items put up while a caller pages through a list never
//! make a page repeat or skip an item that was listed all along (an offset
//! would shift by one for every item put up before it). An item that sells
//! out between two pages is simply not listed; an item put up after the
//! position a caller has reached is listed on a later page, one put up
//! before it is not (the caller has passed that place in the order).
//!
//! On the wire the cursor is the text `<rank>:<item-id>` (`2:3-17`).
//! Callers treat it as opaque: they pass back the `next` they got.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::limits;
use super::{ItemId, MarketError};

/// Where the previous page ended: a page lists the items after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PageCursor {
    /// How many of the searched keywords the last listed item carries; 0
    /// in a list ordered by id alone (a search without keywords, a seller's
    /// items).
    pub rank: usize,
    /// The last listed item.
    pub item: ItemId,
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.rank, self.item)
    }
}

impl FromStr for PageCursor {
    type Err = MarketError;
    fn from_str(text: &str) -> Result<Self, MarketError> {
        let bad = || {
            MarketError::invalid(format!(
                "cursor {text:?} is not one this API gave out: \
                 pass back the `next` of the previous page"
            ))
        };
        let (rank, item) = text.split_once(':').ok_or_else(bad)?;
        // Digits only: `usize::from_str` would take a leading '+'.
        if rank.is_empty() || !rank.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(bad());
        }
        let rank: usize = rank.parse().map_err(|_| bad())?;
        if rank > limits::KEYWORDS_MAX {
            return Err(bad());
        }
        let item: ItemId = item.parse().map_err(|_| bad())?;
        Ok(PageCursor { rank, item })
    }
}

impl TryFrom<String> for PageCursor {
    type Error = MarketError;
    fn try_from(text: String) -> Result<Self, MarketError> {
        text.parse()
    }
}

impl From<PageCursor> for String {
    fn from(cursor: PageCursor) -> String {
        cursor.to_string()
    }
}

/// Which page of a list to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// At most this many items: 1..=`PAGE_ITEMS_MAX`.
    pub limit: usize,
    /// Start after this position; `None` for the first page.
    pub after: Option<PageCursor>,
}

impl Default for Page {
    /// The first page, of the default size: what a caller that names no
    /// page gets.
    fn default() -> Self {
        Page {
            limit: limits::PAGE_ITEMS_DEFAULT,
            after: None,
        }
    }
}

impl Page {
    /// A page from a caller's `limit` and `after` (the query parameters of
    /// the REST API): each may be absent, and must be well formed if given.
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<Page, MarketError> {
        let limit = match limit {
            None => limits::PAGE_ITEMS_DEFAULT,
            Some(text) => text.trim().parse().map_err(|_| limit_error(text))?,
        };
        let after = after.map(str::parse).transpose()?;
        let page = Page { limit, after };
        page.validate()?;
        Ok(page)
    }

    /// Checks the limit's range (again, for a page decoded from the network).
    pub fn validate(&self) -> Result<(), MarketError> {
        if self.limit == 0 || self.limit > limits::PAGE_ITEMS_MAX {
            return Err(limit_error(&self.limit.to_string()));
        }
        Ok(())
    }
}

/// Which page of a buyer's history to return. A history only grows, at its
/// end, so the cursor is a plain position: how many purchases (oldest
/// first) the pages before have shown. Purchases made meanwhile come on
/// later pages; none is repeated or skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    /// At most this many purchases: 1..=`HISTORY_PAGE_PURCHASES_MAX`.
    pub limit: usize,
    /// Start after this many purchases.
    pub after: usize,
}

impl Default for HistoryPage {
    /// The first page, of the largest size (commands logged before
    /// histories were paged decode to it).
    fn default() -> Self {
        HistoryPage {
            limit: limits::HISTORY_PAGE_PURCHASES_MAX,
            after: 0,
        }
    }
}

impl HistoryPage {
    /// A page from a caller's `limit` and `after` (query parameters; `after`
    /// is the previous page's `next`), each optional.
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<HistoryPage, MarketError> {
        let limit = match limit {
            None => limits::HISTORY_PAGE_PURCHASES_MAX,
            Some(text) => text.trim().parse().map_err(|_| history_limit_error(text))?,
        };
        let after = match after {
            None => 0,
            // Digits only: `usize::from_str` would take a leading '+'.
            Some(text) if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) => {
                text.parse().map_err(|_| history_cursor_error(text))?
            }
            Some(text) => return Err(history_cursor_error(text)),
        };
        let page = HistoryPage { limit, after };
        page.validate()?;
        Ok(page)
    }

    /// Checks the limit's range (again, for a page decoded from the network).
    pub fn validate(&self) -> Result<(), MarketError> {
        if self.limit == 0 || self.limit > limits::HISTORY_PAGE_PURCHASES_MAX {
            return Err(history_limit_error(&self.limit.to_string()));
        }
        Ok(())
    }

    /// The purchases of `history` on this page, and the cursor of the next
    /// page if more follow.
    pub fn of<'a, T>(&self, history: &'a [T]) -> (&'a [T], Option<usize>) {
        let start = self.after.min(history.len());
        let end = start.saturating_add(self.limit).min(history.len());
        let next = (end < history.len()).then_some(end);
        (&history[start..end], next)
    }
}

fn history_limit_error(text: &str) -> MarketError {
    MarketError::invalid(format!(
        "limit must be a whole number 1..={}, got {text:?}",
        limits::HISTORY_PAGE_PURCHASES_MAX
    ))
}

fn history_cursor_error(text: &str) -> MarketError {
    MarketError::invalid(format!(
        "cursor {text:?} is not one this API gave out: pass back the `next` of the previous page"
    ))
}

fn limit_error(text: &str) -> MarketError {
    MarketError::invalid(format!(
        "limit must be a whole number 1..={}, got {text:?}",
        limits::PAGE_ITEMS_MAX
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let cursor: PageCursor = "2:3-17".parse().expect("a cursor");
        assert_eq!(cursor.rank, 2);
        assert_eq!(cursor.item.to_string(), "3-17");
        assert_eq!(cursor.to_string(), "2:3-17");
        let json = serde_json::to_string(&cursor).expect("encodes");
        assert_eq!(json, "\"2:3-17\"");
        assert_eq!(serde_json::from_str::<PageCursor>(&json).ok(), Some(cursor));
    }

    #[test]
    fn malformed_cursors_are_refused_with_a_clear_error() {
        for text in [
            "", ":", "2", "3-17", "2:", ":3-17", "+2:3-17", "-1:3-17", "6:3-17", "2:3-0", "2:10-1",
            "2:3-x", "2:3-17:1", "x:3-17", " 2:3-17",
        ] {
            match text.parse::<PageCursor>() {
                Err(MarketError::InvalidInput(message)) => {
                    assert!(message.contains("cursor"), "{text:?}: {message}")
                }
                other => panic!("{text:?} gave {other:?}"),
            }
            assert!(serde_json::from_value::<PageCursor>(text.into()).is_err());
        }
    }

    #[test]
    fn a_page_has_a_named_default_and_maximum() {
        assert_eq!(Page::parse(None, None), Ok(Page::default()));
        assert_eq!(Page::default().limit, limits::PAGE_ITEMS_DEFAULT);
        let largest = limits::PAGE_ITEMS_MAX.to_string();
        assert_eq!(
            Page::parse(Some(&largest), Some("0:1-5")).map(|page| page.limit),
            Ok(limits::PAGE_ITEMS_MAX)
        );
        let too_large = (limits::PAGE_ITEMS_MAX + 1).to_string();
        for limit in ["0", "-1", "ten", "", "1.5", &too_large] {
            match Page::parse(Some(limit), None) {
                Err(MarketError::InvalidInput(message)) => {
                    assert!(message.starts_with("limit must be"), "{message}")
                }
                other => panic!("limit {limit:?} gave {other:?}"),
            }
        }
        assert!(Page::parse(None, Some("")).is_err());
    }

    #[test]
    fn a_history_page_is_a_position_in_a_list_that_only_grows() {
        let history: Vec<u32> = (0..7).collect();
        let first = HistoryPage::parse(Some("3"), None).expect("a page");
        assert_eq!(first.of(&history), (&history[0..3], Some(3)));
        let second = HistoryPage::parse(Some("3"), Some("3")).expect("a page");
        assert_eq!(second.of(&history), (&history[3..6], Some(6)));
        let last = HistoryPage::parse(Some("3"), Some("6")).expect("a page");
        assert_eq!(last.of(&history), (&history[6..7], None));
        assert_eq!(HistoryPage::default().of(&history), (&history[..], None));
        let beyond = HistoryPage::parse(None, Some("99")).expect("a page");
        assert_eq!(beyond.of(&history), (&history[7..], None));
        let too_large = (limits::HISTORY_PAGE_PURCHASES_MAX + 1).to_string();
        for (limit, after) in [
            (Some("0"), None),
            (Some(too_large.as_str()), None),
            (None, Some("")),
            (None, Some("+1")),
            (None, Some("1:2")),
            (None, Some("-1")),
        ] {
            match HistoryPage::parse(limit, after) {
                Err(MarketError::InvalidInput(message)) => {
                    assert!(
                        message.contains("limit") || message.contains("cursor"),
                        "{message}"
                    )
                }
                other => panic!("{limit:?} {after:?} gave {other:?}"),
            }
        }
    }
}
