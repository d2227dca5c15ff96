//! Security descriptor strings (SDDL) as the pure evaluator's [`Descriptor`], so that the rules
//! of [`crate::control::windows_writers`] are tested on every OS from the strings Windows shows
//! (`Get-Acl`'s `Sddl`, `icacls /save`), and the Windows lane checks this parser against
//! `ConvertStringSecurityDescriptorToSecurityDescriptorW`.
//!
//! The grammar (Microsoft's "Security Descriptor String Format" and "ACE Strings"):
//! `O:owner G:group D:dacl_flags(ace)(ace)… S:sacl_flags(ace)…`, each part at most once, any part
//! left out; an ACE is `(type;flags;rights;object_guid;inherit_object_guid;sid[;condition])`.
//! SIDs are `S-1-…` or two-letter aliases; rights a number (`0x1200a9`) or a run of two-letter
//! aliases (`FA`, `GRGX`, `DCLCRPCR`). Aliases relative to a domain (`DA`, `DU`, `LA`, …) are
//! refused: which SID they mean depends on the machine.
//!
//! Only the owner and the DACL reach the [`Descriptor`]; the group and the SACL are checked and
//! dropped. The parser reads untrusted text (`fuzz/` has a target for it): every failure is an
//! [`SddlError`], never a panic, and [`to_sddl`] writes a descriptor back so that
//! `parse(to_sddl(d)) == d`.

use crate::control::{Ace, AceKind, Descriptor};

/// Why a string is not a security descriptor this parser reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SddlError {
    #[error("`{part}:` appears more than once")]
    Repeated { part: char },
    #[error("unexpected {found:?} at byte {at} (expected `O:`, `G:`, `D:` or `S:`)")]
    Unexpected { at: usize, found: String },
    #[error("{sid:?} is not a SID or a SID alias this parser knows")]
    BadSid { sid: String },
    #[error("the alias {alias:?} names a domain-relative SID; give the full `S-1-5-21-…` SID")]
    DomainRelative { alias: String },
    #[error("{flags:?} are not ACL flags (`P`, `AI`, `AR`, `NO_ACCESS_CONTROL`)")]
    BadAclFlags { flags: String },
    #[error("an ACE is not closed: {ace:?}")]
    Unclosed { ace: String },
    #[error("the ACE {ace:?} has {fields} fields (6, or 7 with a condition)")]
    FieldCount { ace: String, fields: usize },
    #[error("{value:?} is not an ACE type")]
    BadAceType { value: String },
    #[error("{value:?} are not ACE flags")]
    BadAceFlags { value: String },
    #[error("{value:?} are not access rights")]
    BadRights { value: String },
    #[error("{value:?} is not a GUID (or a GUID where the ACE type takes none)")]
    BadGuid { value: String },
    #[error("a condition on an ACE that is not a callback ACE: {ace:?}")]
    StrayCondition { ace: String },
    #[error("the descriptor is longer than {max} bytes")]
    TooLong { max: usize },
}

/// No real descriptor comes near this (a DACL holds at most 64 KiB of ACEs).
const MAX_LEN: usize = 256 * 1024;

/// ACE types: (alias, type byte). `from_type` decides what each one does.
const ACE_TYPES: &[(&str, u8)] = &[
    ("A", 0x0),
    ("D", 0x1),
    ("AU", 0x2),
    ("AL", 0x3),
    ("OA", 0x5),
    ("OD", 0x6),
    ("OU", 0x7),
    ("OL", 0x8),
    ("XA", 0x9),
    ("XD", 0xA),
    ("ZA", 0xB),
    ("XU", 0xD),
    ("ML", 0x11),
    ("RA", 0x12),
    ("SP", 0x13),
];

/// ACE types that carry an object type GUID and an inherited object type GUID.
const OBJECT_TYPES: &[u8] = &[0x5, 0x6, 0x7, 0x8, 0xB];
/// Callback ACE types, which may carry a condition.
const CALLBACK_TYPES: &[u8] = &[0x9, 0xA, 0xB, 0xD];

const ACE_FLAGS: &[(&str, u8)] = &[
    ("OI", 0x01),
    ("CI", 0x02),
    ("NP", 0x04),
    ("IO", 0x08),
    ("ID", 0x10),
    ("CR", 0x20),
    ("SA", 0x40),
    ("FA", 0x80),
];

const RIGHTS: &[(&str, u32)] = &[
    // Generic.
    ("GA", 0x1000_0000),
    ("GX", 0x2000_0000),
    ("GW", 0x4000_0000),
    ("GR", 0x8000_0000),
    // Standard.
    ("SD", 0x0001_0000),
    ("RC", 0x0002_0000),
    ("WD", 0x0004_0000),
    ("WO", 0x0008_0000),
    // Directory service (the same bits as a folder's: DC = add file, LC = add subfolder, ...).
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CR", 0x100),
    // File.
    ("FA", 0x001F_01FF),
    ("FR", 0x0012_0089),
    ("FW", 0x0012_0116),
    ("FX", 0x0012_00A0),
    // Registry.
    ("KA", 0x000F_003F),
    ("KR", 0x0002_0019),
    ("KW", 0x0002_0006),
    ("KX", 0x0002_0019),
    // Mandatory label.
    ("NR", 0x2),
    ("NW", 0x1),
    ("NX", 0x4),
];

/// SID aliases that mean the same SID on every machine.
const SIDS: &[(&str, &str)] = &[
    ("AA", "S-1-5-32-579"),
    ("AC", "S-1-15-2-1"),
    ("AN", "S-1-5-7"),
    ("AO", "S-1-5-32-548"),
    ("AS", "S-1-18-1"),
    ("AU", "S-1-5-11"),
    ("BA", "S-1-5-32-544"),
    ("BG", "S-1-5-32-546"),
    ("BO", "S-1-5-32-551"),
    ("BU", "S-1-5-32-545"),
    ("CD", "S-1-5-32-574"),
    ("CG", "S-1-3-1"),
    ("CO", "S-1-3-0"),
    ("CY", "S-1-5-32-569"),
    ("ED", "S-1-5-9"),
    ("ER", "S-1-5-32-573"),
    ("ES", "S-1-5-32-576"),
    ("HA", "S-1-5-32-578"),
    ("HI", "S-1-16-12288"),
    ("IS", "S-1-5-32-568"),
    ("IU", "S-1-5-4"),
    ("LS", "S-1-5-19"),
    ("LU", "S-1-5-32-559"),
    ("LW", "S-1-16-4096"),
    ("ME", "S-1-16-8192"),
    ("MP", "S-1-16-8448"),
    ("MU", "S-1-5-32-558"),
    ("NO", "S-1-5-32-556"),
    ("NS", "S-1-5-20"),
    ("NU", "S-1-5-2"),
    ("OW", "S-1-3-4"),
    ("PO", "S-1-5-32-550"),
    ("PS", "S-1-5-10"),
    ("PU", "S-1-5-32-547"),
    ("RA", "S-1-5-32-575"),
    ("RC", "S-1-5-12"),
    ("RD", "S-1-5-32-555"),
    ("RE", "S-1-5-32-552"),
    ("RM", "S-1-5-32-580"),
    ("RU", "S-1-5-32-554"),
    ("SI", "S-1-16-16384"),
    ("SO", "S-1-5-32-549"),
    ("SS", "S-1-18-2"),
    ("SU", "S-1-5-6"),
    ("SY", "S-1-5-18"),
    ("WD", "S-1-1-0"),
    ("WR", "S-1-5-33"),
];

/// Aliases whose SID is the machine's or the domain's plus a RID.
const DOMAIN_RELATIVE: &[&str] = &[
    "CA", "CN", "DA", "DC", "DD", "DG", "DU", "EA", "EK", "KA", "LA", "LG", "PA", "RO", "SA", "AP",
];

/// Parse an SDDL string into the owner and DACL the evaluator judges.
pub fn parse(sddl: &str) -> Result<Descriptor, SddlError> {
    if sddl.len() > MAX_LEN {
        return Err(SddlError::TooLong { max: MAX_LEN });
    }
    let mut owner = None;
    let mut group_seen = false;
    let mut dacl: Option<Option<Vec<Ace>>> = None;
    let mut sacl_seen = false;
    let bytes = sddl.as_bytes();
    let mut i = skip_space(sddl, 0);
    while i < bytes.len() {
        let part = bytes[i] as char;
        if bytes.get(i + 1) != Some(&b':') || !"OGDS".contains(part) {
            return Err(SddlError::Unexpected {
                at: i,
                found: sddl[i..].chars().take(16).collect(),
            });
        }
        let start = i + 2;
        let end = part_end(sddl, start)?;
        let body = sddl[start..end].trim();
        match part {
            'O' => {
                if owner.replace(sid(body)?).is_some() {
                    return Err(SddlError::Repeated { part });
                }
            }
            'G' => {
                sid(body)?;
                if std::mem::replace(&mut group_seen, true) {
                    return Err(SddlError::Repeated { part });
                }
            }
            'D' => {
                if dacl.replace(acl(body)?).is_some() {
                    return Err(SddlError::Repeated { part });
                }
            }
            _ => {
                acl(body)?;
                if std::mem::replace(&mut sacl_seen, true) {
                    return Err(SddlError::Repeated { part });
                }
            }
        }
        i = skip_space(sddl, end);
    }
    Ok(Descriptor {
        owner,
        // No `D:` at all: no DACL, which Windows treats like a NULL DACL.
        dacl: dacl.unwrap_or(None),
    })
}

fn skip_space(s: &str, mut i: usize) -> usize {
    let b = s.as_bytes();
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// Where the part starting at `start` ends: at the next `X:` (X one of O, G, D, S) outside the
/// ACEs' parentheses, or at the end.
fn part_end(s: &str, start: usize) -> Result<usize, SddlError> {
    let b = s.as_bytes();
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'(' => i = ace_end(s, i)?,
            b'O' | b'G' | b'D' | b'S' if b.get(i + 1) == Some(&b':') => return Ok(i),
            _ => i += 1,
        }
    }
    Ok(i)
}

/// The index just past the `)` that closes the ACE opening at `open`: parentheses nest (a
/// condition is parenthesised) and a `"…"` string in a condition may hold any of them.
fn ace_end(s: &str, open: usize) -> Result<usize, SddlError> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut quoted = false;
    for (j, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'"' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Ok(j + 1);
                }
            }
            _ => {}
        }
    }
    Err(SddlError::Unclosed {
        ace: s[open..].chars().take(64).collect(),
    })
}

/// `flags(ace)(ace)…`, or `NO_ACCESS_CONTROL` (a NULL ACL: `None`).
fn acl(body: &str) -> Result<Option<Vec<Ace>>, SddlError> {
    let open = body.find('(').unwrap_or(body.len());
    let flags = body[..open].trim();
    let mut null = false;
    let mut rest = flags;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("NO_ACCESS_CONTROL") {
            null = true;
            rest = r;
        } else if let Some(r) = ["AI", "AR", "P"].iter().find_map(|f| rest.strip_prefix(f)) {
            rest = r;
        } else {
            return Err(SddlError::BadAclFlags {
                flags: flags.to_string(),
            });
        }
    }
    let mut aces = Vec::new();
    let mut i = open;
    while i < body.len() {
        let end = ace_end(body, i)?;
        aces.push(ace(&body[i + 1..end - 1])?);
        i = skip_space(body, end);
        if i < body.len() && body.as_bytes()[i] != b'(' {
            return Err(SddlError::Unexpected {
                at: i,
                found: body[i..].chars().take(16).collect(),
            });
        }
    }
    Ok(if null && aces.is_empty() {
        None
    } else {
        Some(aces)
    })
}

/// `type;flags;rights;object_guid;inherit_object_guid;sid[;(condition)]`.
fn ace(text: &str) -> Result<Ace, SddlError> {
    let fields = split_fields(text);
    if !(6..=7).contains(&fields.len()) {
        return Err(SddlError::FieldCount {
            ace: text.chars().take(64).collect(),
            fields: fields.len(),
        });
    }
    let f = |n: usize| fields[n].trim();
    let t = ACE_TYPES
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(f(0)))
        .map(|&(_, t)| t)
        .ok_or_else(|| SddlError::BadAceType {
            value: f(0).to_string(),
        })?;
    let flags = aliases(f(1), ACE_FLAGS).ok_or_else(|| SddlError::BadAceFlags {
        value: f(1).to_string(),
    })?;
    let mask = rights(f(2))?;
    for g in [f(3), f(4)] {
        if !g.is_empty() && (!OBJECT_TYPES.contains(&t) || !is_guid(g)) {
            return Err(SddlError::BadGuid {
                value: g.to_string(),
            });
        }
    }
    if fields.len() == 7 && !CALLBACK_TYPES.contains(&t) && t != 0x12 {
        return Err(SddlError::StrayCondition {
            ace: text.chars().take(64).collect(),
        });
    }
    Ok(Ace {
        kind: AceKind::from_type(t),
        flags,
        mask,
        sid: sid(f(5))?,
    })
}

/// The fields of an ACE, split on `;` outside the condition's parentheses and strings.
fn split_fields(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut from) = (0usize, false, 0);
    for (j, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ';' if !quoted && depth == 0 => {
                out.push(&text[from..j]);
                from = j + 1;
            }
            _ => {}
        }
    }
    out.push(&text[from..]);
    out
}

/// A run of two-letter aliases from `table`, OR-ed; the empty string is 0.
fn aliases<T: Copy + std::ops::BitOr<Output = T> + Default>(
    s: &str,
    table: &[(&str, T)],
) -> Option<T> {
    if !s.is_ascii() || !s.len().is_multiple_of(2) {
        return None;
    }
    let mut v = T::default();
    for k in 0..s.len() / 2 {
        let a = &s[2 * k..2 * k + 2];
        v = v | table.iter().find(|(n, _)| n.eq_ignore_ascii_case(a))?.1;
    }
    Some(v)
}

fn rights(s: &str) -> Result<u32, SddlError> {
    let bad = || SddlError::BadRights {
        value: s.to_string(),
    };
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).map_err(|_| bad());
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return s.parse().map_err(|_| bad());
    }
    aliases(s, RIGHTS).ok_or_else(bad)
}

fn is_guid(g: &str) -> bool {
    let parts: Vec<&str> = g.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A SID alias or a `S-1-…` string, in the form `ConvertSidToStringSidW` writes.
pub fn sid(s: &str) -> Result<String, SddlError> {
    let bad = || SddlError::BadSid { sid: s.to_string() };
    if s.len() == 2 {
        if let Some((_, full)) = SIDS.iter().find(|(a, _)| a.eq_ignore_ascii_case(s)) {
            return Ok(full.to_string());
        }
        if DOMAIN_RELATIVE.iter().any(|a| a.eq_ignore_ascii_case(s)) {
            return Err(SddlError::DomainRelative {
                alias: s.to_string(),
            });
        }
        return Err(bad());
    }
    let rest = s
        .strip_prefix("S-1-")
        .or_else(|| s.strip_prefix("s-1-"))
        .ok_or_else(bad)?;
    let mut parts = rest.split('-');
    let authority = parts.next().ok_or_else(bad)?;
    let authority: u64 = match authority
        .strip_prefix("0x")
        .or_else(|| authority.strip_prefix("0X"))
    {
        Some(hex) if !hex.is_empty() && hex.len() <= 12 => {
            u64::from_str_radix(hex, 16).map_err(|_| bad())?
        }
        Some(_) => return Err(bad()),
        None if !authority.is_empty() && authority.bytes().all(|b| b.is_ascii_digit()) => {
            authority.parse().map_err(|_| bad())?
        }
        None => return Err(bad()),
    };
    if authority >= 1 << 48 {
        return Err(bad());
    }
    let subs = parts
        .map(|p| {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse::<u32>().map_err(|_| bad())
        })
        .collect::<Result<Vec<u32>, _>>()?;
    if subs.is_empty() || subs.len() > 15 {
        return Err(bad());
    }
    let mut out = if authority < 1 << 32 {
        format!("S-1-{authority}")
    } else {
        format!("S-1-0x{authority:012X}")
    };
    for sub in subs {
        out.push_str(&format!("-{sub}"));
    }
    Ok(out)
}

/// The SDDL of a descriptor's owner and DACL: SIDs in full, rights and flags as numbers and
/// aliases that [`parse`] reads back to the same descriptor.
pub fn to_sddl(d: &Descriptor) -> String {
    let mut out = String::new();
    if let Some(o) = &d.owner {
        out.push_str(&format!("O:{o}"));
    }
    match &d.dacl {
        None => out.push_str("D:NO_ACCESS_CONTROL"),
        Some(aces) => {
            out.push_str("D:");
            for a in aces {
                let t = match a.kind {
                    AceKind::Allow => "A",
                    AceKind::Deny => "D",
                    AceKind::AllowCallback => "XA",
                    // An audit entry: grants and denies nothing, as `Other` does.
                    AceKind::Other => "AU",
                };
                let flags: String = ACE_FLAGS
                    .iter()
                    .filter(|(_, bit)| a.flags & bit != 0)
                    .map(|(n, _)| *n)
                    .collect();
                out.push_str(&format!("({t};{flags};0x{:x};;;{})", a.mask, a.sid));
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::control::{
        sid_is_user_account, windows_trusted, windows_writers, Control, CONTAINER_INHERIT,
        INHERIT_ONLY, OBJECT_INHERIT,
    };
    use crate::AccountId;

    const ALICE: &str = "S-1-5-21-1004336348-1177238915-682003330-1001";
    const BOB: &str = "S-1-5-21-1004336348-1177238915-682003330-1002";
    const ENTRA: &str = "S-1-12-1-1234567890-1234567890-1234567890-1234567890";

    /// The strings below that Windows (and Wine, whose parser knows no callback or object ACEs
    /// and no `NO_ACCESS_CONTROL`) reads too: `windows::acl`'s test compares the two parsers.
    pub(crate) fn windows_comparable() -> Vec<String> {
        let mut v: Vec<String> = [
            "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;DCLCRPCR;;;BU)",
            "O:BAD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)",
            "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICI;0x1200a9;;;AU)",
            "O:BAD:AI(A;OICI;0x1301bf;;;BU)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)",
            "O:BAD:AI(A;OIIO;0x1301bf;;;BU)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)",
            "O:BAD:(A;OICIIO;GA;;;CO)(A;OICIIO;GA;;;CG)(A;;FA;;;OW)",
            "O:BAD:(A;;GRGWGXGA;;;BU)(A;;SDRCWDWO;;;IU)(A;;FRFWFX;;;WD)(A;NP;DT;;;NS)",
            "O:SYD:P",
            "O:SY",
            "D:",
        ]
        .map(String::from)
        .to_vec();
        for who in [ALICE, ENTRA] {
            v.push(format!(
                "O:{who}G:{who}D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{who})"
            ));
        }
        for dacl in [
            "(A;OIIO;FW;;;B)",
            "(A;IO;FA;;;B)",
            "(A;CIIO;FA;;;B)",
            "(A;;0x40;;;B)",
            "(D;OICI;FW;;;B)(A;OICI;0x1201bf;;;B)",
            "(A;OICI;0x1201bf;;;B)(D;OICI;FW;;;B)",
            "(D;OIIO;FA;;;B)(A;OICI;FA;;;B)",
            "(D;;FA;;;B)(A;OICI;FA;;;B)",
        ] {
            v.push(format!(
                "O:BAD:{}",
                dacl.replace(";B)", &format!(";{BOB})"))
            ));
        }
        v
    }

    fn writers(sddl: &str) -> Vec<(String, String)> {
        let sd = parse(sddl).unwrap_or_else(|e| panic!("{sddl}: {e}"));
        windows_writers(&sd, windows_trusted)
            .into_iter()
            .map(|w| (w.id, w.how))
            .collect()
    }

    fn control(sddl: &str) -> Control {
        let sd = parse(sddl).unwrap();
        Control::from_writers(&windows_writers(&sd, windows_trusted), sid_is_user_account)
    }

    fn ids(sddl: &str) -> Vec<String> {
        writers(sddl).into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn owner_dacl_flags_aces_and_aliases_are_parsed() {
        let sd = parse("O:BAG:SYD:PAI(A;OICI;FA;;;SY)(D;CIIO;0x116;;;BU)(XA;;FX;;;WD;(Member_of {SID(BA)}))S:AI(AU;SAFA;FA;;;WD)").unwrap();
        assert_eq!(sd.owner.as_deref(), Some("S-1-5-32-544"));
        let aces = sd.dacl.unwrap();
        assert_eq!(
            aces,
            vec![
                Ace {
                    kind: AceKind::Allow,
                    flags: OBJECT_INHERIT | CONTAINER_INHERIT,
                    mask: 0x1F01FF,
                    sid: "S-1-5-18".into()
                },
                Ace {
                    kind: AceKind::Deny,
                    flags: CONTAINER_INHERIT | INHERIT_ONLY,
                    mask: 0x116,
                    sid: "S-1-5-32-545".into()
                },
                Ace {
                    kind: AceKind::AllowCallback,
                    flags: 0,
                    mask: 0x1200A0,
                    sid: "S-1-1-0".into()
                },
            ]
        );
        assert_eq!(
            parse("D:(A;;DCLCRPCR;;;BU)").unwrap().dacl.unwrap()[0].mask,
            0x116
        );
        assert_eq!(
            parse("D:(A;;GRGWGXGA;;;BU)").unwrap().dacl.unwrap()[0].mask,
            0xF000_0000
        );
        assert_eq!(
            parse("D:(A;;SDRCWDWO;;;BU)").unwrap().dacl.unwrap()[0].mask,
            0x000F_0000
        );
        assert_eq!(
            parse("D:(A;;FRFWFX;;;BU)").unwrap().dacl.unwrap()[0].mask,
            0x0012_01BF
        );
        // No DACL part, and an explicit NULL DACL.
        assert_eq!(parse("O:SY").unwrap().dacl, None);
        assert_eq!(parse("D:NO_ACCESS_CONTROL").unwrap().dacl, None);
        // An empty DACL: nobody but the owner.
        assert_eq!(parse("O:SYD:P").unwrap().dacl, Some(vec![]));
    }

    #[test]
    fn sids_are_written_as_windows_writes_them() {
        for (given, want) in [
            ("SY", "S-1-5-18"),
            ("co", "S-1-3-0"),
            ("S-1-5-32-544", "S-1-5-32-544"),
            ("s-1-5-21-1-2-3-1001", "S-1-5-21-1-2-3-1001"),
            ("S-1-0x5-18", "S-1-5-18"),
            ("S-1-0x100000000-1", "S-1-0x000100000000-1"),
            (ENTRA, ENTRA),
        ] {
            assert_eq!(sid(given).as_deref(), Ok(want), "{given}");
        }
        for bad in [
            "",
            "S-1-",
            "S-1-5",
            "S-1-5-",
            "S-1-5--1",
            "S-1-x-1",
            "S-1-5-4294967296",
            "ZZ",
            "S-2-5-1",
        ] {
            assert!(sid(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            sid("DU"),
            Err(SddlError::DomainRelative { alias: "DU".into() })
        );
    }

    #[test]
    fn malformed_strings_are_errors() {
        for bad in [
            "X:SY",
            "O:SYO:BA",
            "D:(A;;FA;;;SY)D:",
            "D:(A;;FA;;;SY",
            "D:(A;;FA;;SY)",
            "D:(Q;;FA;;;SY)",
            "D:(A;ZZ;FA;;;SY)",
            "D:(A;;QQ;;;SY)",
            "D:(A;;0xZZ;;;SY)",
            "D:(A;;FA;x;;SY)",
            "D:(OA;;FA;not-a-guid;;SY)",
            "D:(A;;FA;;;SY;(cond))",
            "D:XY(A;;FA;;;SY)",
            "D:(A;;FA;;;SY)junk",
            "D:(A;;FA;;;SY))",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        // Object GUIDs on an object ACE are fine.
        assert!(parse("D:(OA;;RP;bf967a86-0de6-11d0-a285-00aa003049e2;;AU)").is_ok());
    }

    #[test]
    fn the_strings_compared_with_windows_parse_and_write_back() {
        for s in windows_comparable() {
            let d = parse(&s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(parse(&to_sddl(&d)).unwrap(), d, "{s}");
        }
    }

    #[test]
    fn a_descriptor_written_back_parses_to_itself() {
        for s in [
            "O:S-1-5-21-1-2-3-1001D:PAI(A;OICIID;FA;;;SY)(D;CIIO;0x116;;;BU)(XA;NP;GW;;;WD)(AU;SA;FA;;;WD)",
            "O:SYD:NO_ACCESS_CONTROL",
            "D:",
        ] {
            let d = parse(s).unwrap();
            assert_eq!(parse(&to_sddl(&d)).unwrap(), d, "{s}");
        }
    }

    // --- The evaluator from SDDL strings (issue 19 point 5) ---

    #[test]
    fn a_just_me_prefix_in_a_profile_belongs_to_its_user() {
        // C:\Users\alice as Windows creates it (SYSTEM, Administrators and the user, full
        // control, protected), and C:\Users\alice\anaconda3 inheriting it, owned by alice.
        let profile =
            format!("O:{ALICE}G:{ALICE}D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{ALICE})");
        assert_eq!(
            control(&profile),
            Control::Owner(AccountId::parse(ALICE).unwrap())
        );
        let prefix =
            format!("O:{ALICE}D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;{ALICE})");
        assert_eq!(
            control(&prefix),
            Control::Owner(AccountId::parse(ALICE).unwrap())
        );
        // The same for an Entra ID account.
        let entra =
            format!("O:{ENTRA}D:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIID;FA;;;{ENTRA})");
        assert_eq!(
            control(&entra),
            Control::Owner(AccountId::parse(ENTRA).unwrap())
        );
    }

    #[test]
    fn on_the_way_to_an_install_only_who_may_replace_its_entries_counts() {
        let replacers = |sddl: &str| -> Vec<String> {
            crate::control::windows_replacers(&parse(sddl).unwrap(), windows_trusted)
                .into_iter()
                .map(|w| w.id)
                .collect()
        };
        // C:\ProgramData: users add folders there, but cannot replace Anaconda3.
        let programdata = "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;DCLCRPCR;;;BU)";
        assert!(replacers(programdata).is_empty());
        // C:\Users and C:\: read for users.
        assert!(replacers(
            "O:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICI;0x1200a9;;;WD)"
        )
        .is_empty());
        // C:\: authenticated users may create folders (AD) but delete nothing they did not make.
        assert!(replacers("O:S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;CI;LC;;;AU)(A;OIIO;SDGXGWGR;;;AU)").is_empty());
        // A profile folder: its owner replaces anything in it.
        let profile = format!("O:{ALICE}D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{ALICE})");
        assert_eq!(replacers(&profile), vec![ALICE.to_string()]);
        // Delete-child for Users; delete on the folder itself; a DACL handed over; generic all.
        // (SDDL's DT is 0x40, FILE_DELETE_CHILD; its DC and LC are adding a file, a folder.)
        assert!(replacers("O:BAD:(A;;FA;;;SY)(A;;DCLC;;;BU)").is_empty());
        for ace in [
            "(A;;DT;;;BU)",
            "(A;;0x40;;;BU)",
            "(A;;SD;;;BU)",
            "(A;;WD;;;BU)",
            "(A;;WO;;;BU)",
            "(A;;GA;;;BU)",
        ] {
            let sddl = format!("O:BAD:(A;;FA;;;SY){ace}");
            assert_eq!(replacers(&sddl), vec!["S-1-5-32-545".to_string()], "{sddl}");
        }
        // Only for what is inside (inherit-only): not this folder's entries.
        assert!(replacers("O:BAD:(A;OICIIO;FA;;;BU)").is_empty());
        // A deny first cancels; no DACL at all is everyone's.
        assert!(replacers("O:BAD:(D;;0x50040;;;BU)(A;;0x50040;;;BU)").is_empty());
        assert_eq!(replacers("O:BA"), vec!["everyone".to_string()]);
    }

    #[test]
    fn the_folders_condafix_makes_are_controlled_by_whom_it_means() {
        use crate::control::folder_sddl;
        let made =
            |mode: u32, owner: &str| control(&format!("O:{owner}{}", folder_sddl(mode).unwrap()));
        // %ProgramData%\condafix, made by SYSTEM or an elevated administrator: the machine's.
        assert_eq!(made(crate::MACHINE_FOLDER, "SY"), Control::Machine);
        assert_eq!(made(crate::MACHINE_FOLDER, "BA"), Control::Machine);
        // A state folder: its owner's alone.
        assert_eq!(made(0o700, "SY"), Control::Machine);
        assert!(matches!(made(0o700, ALICE), Control::Owner(AccountId::Sid(s)) if s == ALICE));
        // Anything else inherits.
        assert_eq!(folder_sddl(0o755), None);
    }

    #[test]
    fn an_all_users_prefix_under_programdata_lets_users_add_files() {
        // C:\ProgramData as Windows ships it: Users may add files and folders (0x116 on
        // containers: DC = add file, LC = add subfolder, RP/CR = write EA/attributes), and
        // CREATOR OWNER gets full control of what they add. A prefix made there inherits it:
        // any user can plant a DLL next to python.exe (CVE-2022-26526).
        let programdata = "O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;DCLCRPCR;;;BU)";
        assert_eq!(
            writers(programdata),
            vec![(
                "S-1-5-32-545".into(),
                "may change the folder and its subfolders".into()
            )]
        );
        let prefix = "O:BAD:AI(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)(A;OICIIOID;GA;;;CO)(A;OICIID;0x1200a9;;;BU)(A;CIID;DCLCRPCR;;;BU)";
        assert!(matches!(control(prefix), Control::Shared(w) if w.len() == 1));
        // An installer that cut inheritance and left Users read and execute (constructor's fix):
        // only the administrators.
        let fixed =
            "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)(A;OICI;0x1200a9;;;AU)";
        assert_eq!(control(fixed), Control::Machine);
    }

    #[test]
    fn a_shared_install_with_users_modify_is_shared() {
        // icacls prefix /grant Users:(OI)(CI)(M): modify is 0x1301bf.
        let modify = "O:BAD:AI(A;OICI;0x1301bf;;;BU)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)";
        assert_eq!(
            writers(modify),
            vec![(
                "S-1-5-32-545".into(),
                "may change the folder, its files and its subfolders".into()
            )]
        );
        assert!(matches!(control(modify), Control::Shared(_)));
        // Users:(OI)(IO)(M): not the folder, but every file in it.
        let files_only = "O:BAD:AI(A;OIIO;0x1301bf;;;BU)(A;OICIID;FA;;;SY)(A;OICIID;FA;;;BA)";
        assert_eq!(
            writers(files_only),
            vec![("S-1-5-32-545".into(), "may change its files".into())]
        );
        assert!(matches!(control(files_only), Control::Shared(_)));
    }

    #[test]
    fn inherit_only_aces_govern_what_is_inside_not_the_folder() {
        // Read-only on the folder; Bob may write the files (object inherit, inherit only).
        assert_eq!(ids(&format!("O:BAD:(A;OIIO;FW;;;{BOB})")), vec![BOB]);
        // Inherit only without object or container inherit reaches nothing.
        assert!(ids(&format!("O:BAD:(A;IO;FA;;;{BOB})")).is_empty());
        // Container inherit, inherit only: Bob may add files to every subfolder (Library\bin).
        assert_eq!(
            writers(&format!("O:BAD:(A;CIIO;FA;;;{BOB})")),
            vec![(BOB.into(), "may change its subfolders".into())]
        );
        // Object inherit with read and execute only grants no change.
        assert!(ids(&format!("O:BAD:(A;OICI;FRFX;;;{BOB})")).is_empty());
    }

    #[test]
    fn delete_child_on_the_folder_is_a_change() {
        // FILE_DELETE_CHILD (0x40) alone: delete a DLL and put another in its place.
        assert_eq!(
            writers(&format!("O:BAD:(A;;0x40;;;{BOB})")),
            vec![(BOB.into(), "may change the folder".into())]
        );
        assert_eq!(ids(&format!("O:BAD:(A;;DT;;;{BOB})")), vec![BOB]);
    }

    #[test]
    fn generic_rights_are_mapped_to_file_rights() {
        assert_eq!(ids(&format!("O:BAD:(A;;GW;;;{BOB})")), vec![BOB]);
        assert_eq!(ids(&format!("O:BAD:(A;OIIO;GA;;;{BOB})")), vec![BOB]);
        assert!(ids(&format!("O:BAD:(A;OICI;GRGX;;;{BOB})")).is_empty());
    }

    #[test]
    fn creator_owner_adds_no_one() {
        // CREATOR OWNER's rights go to whoever creates a file there, who could already.
        assert!(ids("O:BAD:(A;OICIIO;GA;;;CO)(A;OICIIO;GA;;;CG)(A;;FA;;;OW)").is_empty());
    }

    #[test]
    fn a_deny_before_an_allow_wins_an_allow_before_a_deny_does_not() {
        let deny_first = format!("O:BAD:(D;OICI;FW;;;{BOB})(A;OICI;0x1201bf;;;{BOB})");
        // 0x1201bf minus FILE_GENERIC_WRITE leaves read and execute, and FILE_DELETE_CHILD is
        // not in 0x1201bf: nothing to change with.
        assert!(ids(&deny_first).is_empty(), "{:?}", writers(&deny_first));
        let allow_first = format!("O:BAD:(A;OICI;0x1201bf;;;{BOB})(D;OICI;FW;;;{BOB})");
        assert_eq!(ids(&allow_first), vec![BOB]);
        // A deny for one SID does not cancel another's allow (it could be a group Bob is not in).
        assert_eq!(
            ids(&format!("O:BAD:(D;OICI;FA;;;BU)(A;OICI;FA;;;{BOB})")),
            vec![BOB]
        );
        // A deny on the files only leaves the folder's rights: Bob may still add files.
        assert_eq!(
            writers(&format!("O:BAD:(D;OIIO;FA;;;{BOB})(A;OICI;FA;;;{BOB})")),
            vec![(
                BOB.into(),
                "may change the folder and its subfolders".into()
            )]
        );
        // A deny on the folder only leaves the files' rights.
        assert_eq!(
            writers(&format!("O:BAD:(D;;FA;;;{BOB})(A;OICI;FA;;;{BOB})")),
            vec![(BOB.into(), "may change its files and its subfolders".into())]
        );
    }

    #[test]
    fn callback_aces_count_as_allowing_and_callback_denies_as_nothing() {
        assert_eq!(
            writers(&format!(
                "O:BAD:(XA;OICI;FA;;;{BOB};(@User.Department==\"R(&)D\"))"
            )),
            vec![(
                BOB.into(),
                "may change the folder, its files and its subfolders, under a condition".into()
            )]
        );
        // A conditional deny cannot be judged: it cancels nothing.
        assert_eq!(
            ids(&format!(
                "O:BAD:(XD;OICI;FA;;;{BOB};(Exists Foo))(A;OICI;FA;;;{BOB})"
            )),
            vec![BOB]
        );
    }

    #[test]
    fn the_owner_and_a_null_dacl_are_writers() {
        assert_eq!(
            writers(&format!("O:{BOB}D:P(A;OICI;FA;;;SY)")),
            vec![(BOB.into(), "its owner".into())]
        );
        assert_eq!(
            writers("O:BAD:NO_ACCESS_CONTROL"),
            vec![("everyone".into(), "no ACL".into())]
        );
        // Alice owns it, Bob may write: two accounts, no one identity.
        assert!(matches!(
            control(&format!("O:{ALICE}D:(A;OICI;FA;;;{ALICE})(A;OICI;FA;;;{BOB})")),
            Control::Shared(w) if w.len() == 2
        ));
        // Everyone, Authenticated Users and Interactive are groups, not one account.
        for g in ["WD", "AU", "IU"] {
            assert!(matches!(
                control(&format!("O:BAD:(A;OICI;FA;;;{g})")),
                Control::Shared(_)
            ));
        }
    }
}
