//! Lists of byte strings, and the check every count read from a format
//! passes before anything is allocated for it.

use super::error::DecodeError;
use super::reader::Reader;
use super::writer::Writer;

/// Writes a list of byte strings: a `u16` count, then each one's `u32`
/// length and bytes (the layout of the sequencer driver's batches).
///
/// # Panics
/// If there are more than `u16::MAX` parts or one is over `u32::MAX` bytes:
/// callers bound both far lower.
pub fn write_parts(writer: &mut Writer, parts: &[&[u8]]) {
    writer.u16(u16::try_from(parts.len()).expect("a part count fits a u16"));
    for part in parts {
        writer.counted_bytes(part);
    }
}

/// Reads what `write_parts` wrote, refusing more than `max` parts, up to
/// the end of the bytes.
pub fn read_parts<'a>(
    reader: &mut Reader<'a>,
    what: &'static str,
    max: usize,
) -> Result<Vec<&'a [u8]>, DecodeError> {
    let count = reader.count(what, max)?;
    let mut parts = Vec::with_capacity(count);
    for _ in 0..count {
        // No bound of its own: the bytes left bound it.
        parts.push(reader.counted_bytes(what, u32::MAX as usize)?);
    }
    reader.finish()?;
    Ok(parts)
}

/// For the tests of a format built on `write_parts` (magic, version, then
/// the parts): `decode` refuses every cut of `good` from `cuts_from` bytes
/// on, a trailing byte, a count over the bound and a length past the end.
/// `good` must hold at least one part.
#[cfg(test)]
pub fn assert_parts_garbage_refused(
    good: &[u8],
    cuts_from: usize,
    refuses: impl Fn(&[u8]) -> bool,
) {
    for cut in cuts_from..good.len() {
        assert!(refuses(&good[..cut]), "cut at {cut}");
    }
    let mut trailing = good.to_vec();
    trailing.push(0);
    assert!(refuses(&trailing), "a trailing byte");
    // After the magic (2 bytes) and the version (1): the count, then the
    // first part's length.
    let mut too_many = good.to_vec();
    too_many[3..5].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(refuses(&too_many), "a count over the bound");
    let mut huge_length = good.to_vec();
    huge_length[5..9].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(refuses(&huge_length), "a length past the end");
}

/// Fails with `TooMany` when `count` exceeds `max`.
pub fn check_count(what: &'static str, count: u64, max: u64) -> Result<(), DecodeError> {
    if count > max {
        return Err(DecodeError::TooMany { what, count, max });
    }
    Ok(())
}
