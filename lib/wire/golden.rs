//! Golden byte strings: the tests of every format pin its encoding to the
//! exact bytes, so that a codec change that moves one byte fails a test
//! before it meets an old log, an old snapshot or a peer of the last build.

/// `bytes` as lower-case hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Fails unless each encoding is, in hex, the golden string at its place;
/// the failure shows every encoding, to compare or (for a new format) to copy.
pub fn assert_golden(encodings: &[Vec<u8>], golden: &[&str]) {
    let actual: Vec<String> = encodings.iter().map(|bytes| hex(bytes)).collect();
    assert_eq!(actual, golden, "the encoded bytes moved");
}
