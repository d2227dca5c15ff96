//! Config files as they are really saved on Windows: UTF-8, UTF-8 with a BOM (PowerShell 5.1
//! `Out-File -Encoding utf8`), UTF-16 (PowerShell 5 `Out-File` default), CRLF or LF.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    /// Not valid UTF-8 (decoded lossily).
    Other,
    /// Holds NUL bytes without being UTF-16: neither pip nor conda can read it.
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    Lf,
    Crlf,
    Mixed,
    None,
}

/// A decoded text file and how it was stored.
#[derive(Debug, Clone)]
pub struct DecodedText {
    pub text: String,
    pub encoding: TextEncoding,
    pub line_ending: LineEnding,
}

/// UTF-16LE without a BOM: every code unit's high byte is zero (ASCII text, as config files
/// are), and no unit is NUL. A few NUL bytes scattered in other text do not make it UTF-16.
fn looks_like_utf16le(bytes: &[u8]) -> bool {
    bytes.len() >= 4
        && bytes.len().is_multiple_of(2)
        && bytes.chunks_exact(2).all(|c| c[1] == 0 && c[0] != 0)
}

/// Decode `bytes`, telling the encoding from the BOM (or, for UTF-16 without one, from its
/// shape); text with stray NUL bytes is `Binary`.
pub fn decode_text(bytes: &[u8]) -> DecodedText {
    let utf16 = |body: &[u8], le: bool| {
        let units: Vec<u16> = body
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    let (text, encoding) = if let Some(body) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        (
            String::from_utf8_lossy(body).into_owned(),
            TextEncoding::Utf8Bom,
        )
    } else if let Some(body) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        (utf16(body, true), TextEncoding::Utf16Le)
    } else if let Some(body) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        (utf16(body, false), TextEncoding::Utf16Be)
    } else if looks_like_utf16le(bytes) {
        (utf16(bytes, true), TextEncoding::Utf16Le)
    } else if bytes.contains(&0) {
        (
            String::from_utf8_lossy(bytes).into_owned(),
            TextEncoding::Binary,
        )
    } else {
        match std::str::from_utf8(bytes) {
            Ok(s) => (s.to_string(), TextEncoding::Utf8),
            Err(_) => (
                String::from_utf8_lossy(bytes).into_owned(),
                TextEncoding::Other,
            ),
        }
    };
    let crlf = text.matches("\r\n").count();
    let lf = text.matches('\n').count();
    let line_ending = match (crlf, lf) {
        (0, 0) => LineEnding::None,
        (0, _) => LineEnding::Lf,
        (c, l) if c == l => LineEnding::Crlf,
        _ => LineEnding::Mixed,
    };
    DecodedText {
        text,
        encoding,
        line_ending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boms_and_utf16_are_recognised() {
        let d = decode_text(b"\xEF\xBB\xBF[global]\r\ncert = x\r\n");
        assert_eq!(d.encoding, TextEncoding::Utf8Bom);
        assert_eq!(d.line_ending, LineEnding::Crlf);
        assert!(d.text.starts_with("[global]"));
        let mut u16le = vec![0xFF, 0xFE];
        u16le.extend("[global]\r\n".encode_utf16().flat_map(|u| u.to_le_bytes()));
        let d = decode_text(&u16le);
        assert_eq!(d.encoding, TextEncoding::Utf16Le);
        assert_eq!(d.text, "[global]\r\n");
        assert_eq!(decode_text(b"a\nb\r\n").line_ending, LineEnding::Mixed);
        let bare: Vec<u8> = "[global]\n"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert_eq!(decode_text(&bare).encoding, TextEncoding::Utf16Le);
    }

    #[test]
    fn stray_nul_bytes_are_binary_not_utf16() {
        // Readable as UTF-16 by the old test (NULs at 1 and 3), but its ssl_verify must not
        // disappear into garbage.
        let d = decode_text(b"a\0b\0\nssl_verify: false\n");
        assert_eq!(d.encoding, TextEncoding::Binary);
        assert!(d.text.contains("ssl_verify: false"));
    }
}
