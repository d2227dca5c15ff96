//! Credentials never reach output. One function, used by every output path (human text, every
//! `--json`, the log, the GitHub files, the support bundle), covering the forms pip, conda and
//! requests accept:
//!
//! - `scheme://user:password@host` keeps the user and loses the password (`%40`-encoded or
//!   not); `scheme://token@host` (a token in the user position, as Azure DevOps and GitHub
//!   document for pip) loses the token: the way pip's own `redact_auth_from_url` does it;
//! - `user:password@host:port` without a scheme (pip's `proxy` and conda's `proxy_servers`
//!   accept it) keeps the user;
//! - anaconda.org's `/t/<token>/` channel URLs lose the token, as conda shows them.

/// Characters that can make up the userinfo of a scheme-less `user:password@host`.
fn userinfo_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=:".contains(c)
}

/// Where the authority of a URL ends: at the first character an authority cannot hold (the
/// userinfo's characters, `@`, and `[`/`]` for an IPv6 host). Masking writes only such
/// characters (`user:****`), so a second pass finds the same authority: redaction is
/// idempotent. (Ending it at a quote that the scheme-less pass may later remove let the second
/// pass see a longer authority and cut real text: fuzzing found it.)
fn authority_end(c: char) -> bool {
    !(userinfo_char(c) || matches!(c, '@' | '[' | ']'))
}

/// Mask the userinfo of `scheme://userinfo@host`: `user:****`, or `****` for a lone token.
fn mask_userinfo(userinfo: &str) -> String {
    match userinfo.find(':') {
        Some(colon) => format!("{}:****", &userinfo[..colon]),
        None => "****".to_string(),
    }
}

/// `scheme://userinfo@host...` anywhere in `text`.
fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(authority_end).unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) if at > 0 => {
                out.push_str(&mask_userinfo(&authority[..at]));
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `user:password@host` without a scheme.
fn redact_bare_userinfo(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut start = 0; // chars before `start` are in `out`
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '@' {
            i += 1;
            continue;
        }
        let mut j = i;
        while j > start && userinfo_char(chars[j - 1]) {
            j -= 1;
        }
        let token: String = chars[j..i].iter().collect();
        let host_follows = chars
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '[');
        let after_scheme = j >= 3 && chars[j - 3..j] == [':', '/', '/'];
        if host_follows && !after_scheme && token.contains(':') && !token.ends_with(":****") {
            out.extend(&chars[start..j]);
            out.push_str(&mask_userinfo(&token));
            start = i;
        }
        i += 1;
    }
    out.extend(&chars[start..]);
    out
}

/// anaconda.org's token URLs: `.../t/<token>/channel`.
fn redact_conda_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("/t/") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(tail.len());
        let token = &tail[..end];
        if token.len() >= 8 && token != "****" {
            out.push_str("****");
        } else {
            out.push_str(token);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Replace every credential in `text` with `****` (see the module documentation for the forms).
pub fn redact_credentials(text: &str) -> String {
    if !text.contains('@') && !text.contains("/t/") {
        return text.to_string();
    }
    redact_conda_tokens(&redact_bare_userinfo(&redact_urls(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form pip, conda and requests accept, and what must be left of it.
    pub const FORMS: &[(&str, &str)] = &[
        (
            "http://jdoe:S3cr%40t!@proxy.corp:8080",
            "http://jdoe:****@proxy.corp:8080",
        ),
        (
            "proxy = https://u:p@h/x and http://h2",
            "proxy = https://u:****@h/x and http://h2",
        ),
        ("http://user:p@ss@h:1", "http://user:****@h:1"),
        (
            "https://TOKEN123@pkgs.dev.azure.com/org/_packaging/f/pypi/simple/",
            "https://****@pkgs.dev.azure.com/org/_packaging/f/pypi/simple/",
        ),
        ("socks5://a:b:c@h", "socks5://a:****@h"),
        (
            "proxy = user:pass@proxy.corp:3128",
            "proxy = user:****@proxy.corp:3128",
        ),
        (
            "proxy=user:pa=ss@proxy.corp:3128",
            "proxy=user:****@proxy.corp:3128",
        ),
        (
            "  https: jdoe:hunter2@10.0.0.1:8080",
            "  https: jdoe:****@10.0.0.1:8080",
        ),
        (
            "\"value\": \"user:pass@host:1\"",
            "\"value\": \"user:****@host:1\"",
        ),
        (
            "channel_alias: https://conda.anaconda.org/t/ab-1234567890abcdef/",
            "channel_alias: https://conda.anaconda.org/t/****/",
        ),
        (
            "https://u:p@conda.corp/t/xy-99999999/main",
            "https://u:****@conda.corp/t/****/main",
        ),
        // Left alone: no credential.
        ("git@github.com:org/repo", "git@github.com:org/repo"),
        ("mail me: jdoe@example.com", "mail me: jdoe@example.com"),
        (
            "C:\\Users\\me@corp\\anaconda3",
            "C:\\Users\\me@corp\\anaconda3",
        ),
        ("https://pypi.org/simple", "https://pypi.org/simple"),
        ("no url", "no url"),
        ("/t/short/", "/t/short/"),
        // A quote inside the authority, then a control character (found by fuzzing: the
        // second pass used to remove the text between the two `@`).
        (
            "ba://user:xass@proxynn\0neel:'xass@proxynn\0",
            "ba://user:****@proxynn\0neel:****@proxynn\0",
        ),
        (
            "proxy='http://u:p@h' other='x'",
            "proxy='http://u:****@h' other='x'",
        ),
    ];

    #[test]
    fn every_form_loses_its_secret_and_nothing_else() {
        for (input, want) in FORMS {
            assert_eq!(redact_credentials(input), *want, "{input}");
            // Idempotent: output already redacted stays as it is.
            assert_eq!(redact_credentials(want), *want, "{want}");
        }
    }
}
