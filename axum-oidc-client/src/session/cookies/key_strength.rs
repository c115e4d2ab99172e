//! Refusing guessable cookie secrets.
//!
//! The cookie keys are derived from the configured secret with HKDF-SHA256, which is
//! fast: one captured session cookie (its HMAC tag) lets an attacker test candidate
//! secrets offline at hashing speed. A secret is therefore only as good as its
//! entropy, and the configuration refuses the ones that are obviously short of it:
//!
//! - the example values of the documentation, whatever their case and punctuation;
//! - secrets estimated at fewer than [`MIN_SECRET_BITS`] bits.
//!
//! The estimate: every character counts, except one that repeats the previous one
//! (`aaaa`), continues the step of the two before it (`abcd`, `1234`, `acegi`, `dcba`),
//! completes a three-character block already seen (`keykey`, `Secret1!Secret1!`), or
//! is the fourth or later letter of a run of same-case ASCII letters (a word); the
//! count is multiplied by the Shannon entropy of the secret's characters, in bits per
//! character. It cannot know dictionaries: it is a floor for accidents, not a proof of
//! strength. 64 characters of `openssl rand -base64 48` come out above 200 bits;
//! random keys much shorter than 44 characters may be refused.

use std::collections::{HashMap, HashSet};

/// Fewest estimated bits a configured cookie secret must have.
pub const MIN_SECRET_BITS: u32 = 128;

/// How to make a good secret, for error messages and documentation.
pub const GENERATE_HINT: &str = "generate one with `openssl rand -base64 48`";

/// Example secrets that appear in the documentation (README files, rustdoc, guides),
/// compared after [`normalized`]: copying one is not keeping a secret.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "a secret of at least thirty-two bytes!!",
    "at least thirty-two bytes of secret key material",
];

/// Lowercase ASCII letters and digits only.
fn normalized(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Why `secret` must not be used as the cookie secret, or `None` if it may. The
/// reason never contains the secret.
pub(crate) fn weakness(secret: &str) -> Option<String> {
    let key = normalized(secret);
    if DOCUMENTED_EXAMPLES
        .iter()
        .any(|example| key.contains(&normalized(example)))
    {
        return Some(format!(
            "it is the example value from the documentation; {GENERATE_HINT}"
        ));
    }
    let bits = estimated_bits(secret);
    (bits < f64::from(MIN_SECRET_BITS)).then(|| {
        format!(
            "it is guessable: about {bits:.0} bits by the library's estimate (runs, \
             sequences, repeated blocks, words, character entropy), fewer than \
             {MIN_SECRET_BITS}; {GENERATE_HINT}"
        )
    })
}

/// Both ASCII letters of the same case.
fn same_case_letters(a: char, b: char) -> bool {
    a.is_ascii_alphabetic()
        && b.is_ascii_alphabetic()
        && a.is_ascii_lowercase() == b.is_ascii_lowercase()
}

/// The estimate described in the module documentation, in bits.
pub(crate) fn estimated_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    if chars.is_empty() {
        return 0.0;
    }
    let mut counts: HashMap<char, usize> = HashMap::new();
    for &c in &chars {
        *counts.entry(c).or_default() += 1;
    }
    let n = chars.len() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();

    let mut blocks: HashSet<[char; 3]> = HashSet::new();
    let mut word_len = 0usize;
    let mut counted = 0usize;
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let repeats = prev == Some(c);
        let (sequence, block) = match i.checked_sub(2).map(|j| chars[j]) {
            Some(before) => {
                let prev = prev.unwrap_or(before);
                let step = i64::from(u32::from(c)) - i64::from(u32::from(prev));
                let last_step = i64::from(u32::from(prev)) - i64::from(u32::from(before));
                (step == last_step, !blocks.insert([before, prev, c]))
            }
            None => (false, false),
        };
        word_len = match prev {
            Some(p) if same_case_letters(p, c) => word_len + 1,
            _ => 0,
        };
        if !(repeats || sequence || block || word_len >= 3) {
            counted += 1;
        }
    }
    counted as f64 * per_char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_lowers_the_estimate() {
        assert!(estimated_bits("abbbbbbb") < 1.5, "runs: a and one b count");
        assert_eq!(
            estimated_bits("abcdefgh"),
            2.0 * 3.0,
            "sequence: a, b count"
        );
        assert!(
            estimated_bits("q7Xq7Xq7X") < estimated_bits("q7Xv2Lp9R"),
            "blocks"
        );
        assert!(
            estimated_bits("horsebattery") < estimated_bits("hOrSeBaTtErY"),
            "words"
        );
        assert_eq!(estimated_bits(""), 0.0);
    }

    #[test]
    fn documented_examples_are_found_whatever_the_case_and_punctuation() {
        assert!(weakness("A_SECRET_OF_AT_LEAST_THIRTY_TWO_BYTES").is_some());
        assert!(weakness("prefix at least thirty-two bytes of secret key material").is_some());
    }

    #[test]
    fn random_base64_keys_of_48_bytes_clear_the_bar_by_far() {
        use base64::Engine as _;
        for _ in 0..20_000 {
            let bytes: [u8; 48] = rand::random();
            let key = base64::engine::general_purpose::STANDARD.encode(bytes);
            assert!(estimated_bits(&key) > 180.0, "{key}");
        }
    }
}
