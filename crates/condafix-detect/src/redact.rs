//! Credentials never reach output: `scheme://user:password@host` keeps the user and loses the
//! password, everywhere a proxy or index URL is printed or logged.

/// Replace the password of every `scheme://user:password@` in `text` with `****`.
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', whitespace or quote; userinfo before the last '@'.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push_str(":****");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_replaced_users_and_hosts_kept() {
        assert_eq!(
            redact_credentials("http://jdoe:S3cr%40t!@proxy.corp:8080"),
            "http://jdoe:****@proxy.corp:8080"
        );
        assert_eq!(
            redact_credentials("proxy = https://u:p@h/x and http://h2"),
            "proxy = https://u:****@h/x and http://h2"
        );
        assert_eq!(redact_credentials("http://user@h"), "http://user@h");
        assert_eq!(redact_credentials("no url"), "no url");
        assert_eq!(redact_credentials("socks5://a:b:c@h"), "socks5://a:****@h");
    }
}
