//! An independent statement of what a safe `next` target looks like, written apart
//! from `redirect::safe_next` so the property tests and the `next_redirect` fuzz
//! target check the library against it rather than against itself.

/// Starts with exactly one `/` and has no backslash or control character.
pub fn local_path(b: &[u8]) -> bool {
    b.first() == Some(&b'/')
        && b.get(1) != Some(&b'/')
        && !b.iter().any(|&c| c == b'\\' || c.is_ascii_control())
}

/// One round of percent-decoding, as a browser or proxy might apply it.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let hex = |i: usize| b.get(i).and_then(|c| char::from(*c).to_digit(16));
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}
