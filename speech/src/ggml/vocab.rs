//! Whisper's vocabulary for the GGML header: CT2 keeps the GPT-2 byte-level BPE spelling
//! (`Ġ` for space, `Ċ` for newline...), whisper.cpp wants the raw bytes of each token.

use std::collections::HashMap;
use std::path::Path;

use super::ConvertError;

/// GPT-2's `bytes_to_unicode` inverted: printable Latin-1 characters stand for themselves,
/// the other 68 byte values were shifted to U+0100.. in order.
pub fn byte_decoder() -> HashMap<char, u8> {
    let mut printable: Vec<u32> = ('!' as u32..='~' as u32).collect();
    printable.extend('¡' as u32..='¬' as u32);
    printable.extend('®' as u32..='ÿ' as u32);
    let mut map = HashMap::with_capacity(256);
    let mut shifted = 0u32;
    for b in 0u32..256 {
        let ch = if printable.contains(&b) {
            b
        } else {
            shifted += 1;
            255 + shifted
        };
        map.insert(char::from_u32(ch).expect("valid code point"), b as u8);
    }
    map
}

/// Decodes one byte-level BPE token to its bytes; characters outside the map (none in a
/// well-formed vocabulary) are kept as UTF-8.
pub fn decode_token(token: &str, decoder: &HashMap<char, u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(token.len());
    for ch in token.chars() {
        match decoder.get(&ch) {
            Some(&b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

/// Reads the CT2 vocabulary (`vocabulary.json` list or `vocabulary.txt`, one token a line).
pub fn read_vocabulary(dir: &Path) -> Result<Vec<String>, ConvertError> {
    let json = dir.join("vocabulary.json");
    if json.is_file() {
        let text = std::fs::read_to_string(&json).map_err(|e| ConvertError::io(&json, e))?;
        return serde_json::from_str(&text)
            .map_err(|e| ConvertError::Format(format!("{}: {e}", json.display())));
    }
    let txt = dir.join("vocabulary.txt");
    let text = std::fs::read_to_string(&txt).map_err(|e| ConvertError::io(&txt, e))?;
    Ok(text.lines().map(str::to_owned).collect())
}

/// The ordinary (non-special) tokens as bytes, in id order: everything before the first
/// `<|...|>` token. whisper.cpp appends the special tokens itself.
pub fn ordinary_tokens(vocab: &[String]) -> Vec<Vec<u8>> {
    let decoder = byte_decoder();
    vocab
        .iter()
        .take_while(|t| !(t.starts_with("<|") && t.ends_with("|>")))
        .map(|t| decode_token(t, &decoder))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_decoder_is_a_bijection_over_all_bytes() {
        let d = byte_decoder();
        assert_eq!(d.len(), 256);
        let mut seen: Vec<u8> = d.values().copied().collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn decodes_space_newline_and_multibyte_tokens() {
        let d = byte_decoder();
        assert_eq!(decode_token("Ġhello", &d), b" hello");
        assert_eq!(decode_token("ĊĊ", &d), b"\n\n");
        assert_eq!(decode_token("ĉ", &d), b"\t");
        // "न" (U+0928) is E0 A4 A8 in UTF-8, spelled with the shifted characters.
        assert_eq!(decode_token("à¤¨", &d), "न".as_bytes());
        assert_eq!(decode_token("!", &d), b"!");
    }

    #[test]
    fn special_tokens_are_left_to_whisper_cpp() {
        let vocab: Vec<String> = ["!", "Ġa", "<|endoftext|>", "<|startoftranscript|>"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(ordinary_tokens(&vocab), vec![b"!".to_vec(), b" a".to_vec()]);
    }
}
