//! The marketplace's domain vocabulary, shared by both databases, the
//! frontends and the clients: identifiers, prices, items, carts, the limits
//! of every field, and the one error type every layer maps from.
//!
//! Pure data: nothing here does I/O, reads a clock or draws a random number.

mod error;
mod ids;
mod item;
mod page;
mod price;
mod request_log;

pub use error::MarketError;
pub use ids::{BuyerId, Category, ItemId, RequestId, Role, SellerId, SessionToken};
pub use item::{
    validate_keywords, validate_name, validate_password, CartLine, Condition, Item, ItemDraft,
    PurchasedLine, Rating, Thumb,
};
pub use page::{HistoryPage, Page, PageCursor};
pub use price::Price;
pub use request_log::{request_id_reused, Replay, RequestLog};

/// The length of `text` written as a JSON string, quotes and escapes
/// included: what the capacity charges (`customer/capacity.rs`, the product
/// DB's items) count for a stored text.
pub fn json_string_bytes(text: &str) -> u64 {
    serde_json::to_string(text).map_or(0, |json| json.len()) as u64
}

/// Limits on user input, checked by the state machines (and early by the
/// frontends, for clear errors before a round trip).
pub mod limits {
    /// Item, seller and buyer names: 1..=32 characters.
    pub const NAME_CHARS_MAX: usize = 32;
    /// At most this many keywords per item and per search.
    pub const KEYWORDS_MAX: usize = 5;
    /// Each keyword: 1..=8 characters.
    pub const KEYWORD_CHARS_MAX: usize = 8;
    /// Passwords: 1..=64 characters.
    pub const PASSWORD_CHARS_MAX: usize = 64;
    /// Categories are 0..=CATEGORY_MAX.
    pub const CATEGORY_MAX: u8 = 9;
    /// Units in one item, one cart line or one operation.
    pub const QUANTITY_MAX: u32 = 1_000_000;
    /// Prices up to one million currency units, in cents.
    pub const PRICE_CENTS_MAX: u64 = 100_000_000;
    /// Distinct items in one cart.
    pub const CART_LINES_MAX: usize = 100;
    /// Request ids from clients: 1..=64 printable ASCII characters.
    pub const REQUEST_ID_CHARS_MAX: usize = 64;
    /// A purchase's last step goes to the customer DB under the purchase's
    /// id with this suffix (its own id: the first step used the plain one).
    pub const PURCHASE_STEP_SUFFIX: &str = "/complete";
    /// A purchase abandoned after its first step (card declined, stock
    /// short) says so to the customer DB under the purchase's id with this
    /// suffix, which releases the cart.
    pub const PURCHASE_ABORT_SUFFIX: &str = "/abort";
    /// Request ids the databases take: a client's, or a purchase step's.
    pub const DATABASE_REQUEST_ID_CHARS_MAX: usize =
        REQUEST_ID_CHARS_MAX + PURCHASE_STEP_SUFFIX.len();
    // Any id the API accepts must make step ids the databases accept.
    const _: () = assert!(DATABASE_REQUEST_ID_CHARS_MAX >= REQUEST_ID_CHARS_MAX + 9);
    const _: () = assert!(
        DATABASE_REQUEST_ID_CHARS_MAX >= REQUEST_ID_CHARS_MAX + PURCHASE_ABORT_SUFFIX.len()
    );
    /// A purchase holds its buyer's cart from its first step until it
    /// completes or is abandoned, and at most this long (by the customer
    /// DB's agreed time): a frontend that died mid-purchase releases the
    /// cart this way. Far longer than a purchase takes, failovers included.
    pub const PURCHASE_HOLD_MS: u64 = 30_000;
    /// Results of this many recent requests are kept for exactly-once retries.
    pub const REQUEST_LOG_ENTRIES_MAX: usize = 100_000;
    /// ... and at most this many bytes of them, as a snapshot holds them: a
    /// purchase's result and fingerprint hold up to `CART_LINES_MAX` lines
    /// (some 20 KB), so the count alone would allow gigabytes.
    pub const REQUEST_LOG_BYTES_MAX: u64 = 64 * 1024 * 1024;
    /// The customer DB refuses a write that would take its state past this
    /// many bytes as a snapshot holds them (`customer/capacity.rs` counts
    /// them), with `MarketError::Full`. A million accounts with short names
    /// are charged about 300 MiB. A replica at the limit needs some 2 GiB
    /// of memory (the state, and a snapshot being written). `customer/replicated.rs`
    /// checks that a state at the limit fits
    /// in a snapshot and a state transfer.
    pub const CUSTOMER_STATE_BYTES_MAX: u64 = 512 * 1024 * 1024;
    /// The product DB refuses a new item that would take its items past
    /// this many bytes as a snapshot holds them, with `MarketError::Full`
    /// (as it refuses one past `product::ITEMS_MAX`). A million items with
    /// short names and keywords take about two thirds of it.
    pub const PRODUCT_STATE_BYTES_MAX: u64 = 512 * 1024 * 1024;
    /// Items in one page of a search or a seller's list when the caller
    /// names no `limit`: a page a person reads, and what the clients show.
    /// Lists shorter than this look exactly as they did before paging.
    pub const PAGE_ITEMS_DEFAULT: usize = 100;
    /// The largest `limit` a caller may name. A list is built, encoded and
    /// sent whole by the product DB, the frontend and the client, so this
    /// bounds the work and the memory of one call (a search matching 20,000
    /// items took 211 ms end to end when it was unbounded).
    pub const PAGE_ITEMS_MAX: usize = 1_000;
    /// Purchases in one page of a buyer's history when the caller names no
    /// `limit`, and the largest `limit` a caller may name: a purchase holds
    /// up to `CART_LINES_MAX` lines, so a page is far shorter than a page
    /// of items.
    pub const HISTORY_PAGE_PURCHASES_MAX: usize = 50;
    /// One purchase, encoded as JSON (the REST reply; the customer DB's
    /// protobuf reply takes less), takes at most this many bytes: `CART_LINES_MAX` lines of
    /// at most 300 bytes (a name of 32 characters at 4 bytes each, an item,
    /// a quantity, a price, a seller) and its id and time. A test in
    /// `lib/rest/json.rs` encodes the largest purchase both ways.
    pub const PURCHASE_JSON_BYTES_MAX: usize = CART_LINES_MAX * 300 + 512;
    /// One item, encoded as JSON (the REST reply; the product DB's protobuf
    /// reply takes less), takes at most this many bytes: 32 name characters and 5 keywords of 8
    /// at 4 bytes each (serde_json writes UTF-8 as is; control characters,
    /// which it would escape, are refused), and the fixed fields. A test in
    /// `lib/rest/json.rs` encodes the largest item both ways.
    pub const ITEM_JSON_BYTES_MAX: usize = 2_048;
    /// gRPC refuses a received message over 4 MiB unless told otherwise
    /// (its default), and the product DB's replies are not told otherwise.
    pub const GRPC_MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;
    const _: () = assert!(PAGE_ITEMS_DEFAULT >= 1 && PAGE_ITEMS_DEFAULT <= PAGE_ITEMS_MAX);
    // A full page must fit in one reply of the product DB, with room for
    // the envelope.
    const _: () = assert!(PAGE_ITEMS_MAX * ITEM_JSON_BYTES_MAX <= GRPC_MESSAGE_BYTES_MAX / 2);
    // So must a full page of a history.
    const _: () =
        assert!(HISTORY_PAGE_PURCHASES_MAX * PURCHASE_JSON_BYTES_MAX <= GRPC_MESSAGE_BYTES_MAX / 2);
}
