//! Where the UI may send a browser after logging in (`next`) or switching the language
//! (`back`): only to its own pages, by an allow-list of their paths, never by trying to tell a
//! "local" URL apart from a foreign one. Browsers read `//host`, `/\host`, `/<TAB>/host`,
//! `https:host` and their encoded forms as other sites; none of them is on the list, and
//! anything not on it goes to the queue. What passes is plain ASCII without controls, so it is
//! always a valid `Location` header (a CR or LF could otherwise split the answer).

/// Where a refused target goes instead.
pub const FALLBACK: &str = "/queue";
/// Longest target accepted, in bytes (queue filters fit easily).
const TARGET_BYTES_MAX: usize = 512;
/// Pages of the UI that take no id.
const PAGES: [&str; 5] = ["/", "/queue", "/search", "/audit", "/login"];
/// Digits of the largest `bigint`.
const ID_DIGITS_MAX: usize = 19;

/// `target` when it is a page of this UI (with an optional plain query), else [`FALLBACK`].
pub fn local_target(target: Option<&str>) -> String {
    match target {
        Some(target) if allowed(target) => target.to_owned(),
        _ => FALLBACK.to_owned(),
    }
}

fn allowed(target: &str) -> bool {
    if target.len() > TARGET_BYTES_MAX {
        return false;
    }
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    allowed_path(path) && query.is_none_or(allowed_query)
}

fn allowed_path(path: &str) -> bool {
    PAGES.contains(&path) || path.strip_prefix("/declarations/").is_some_and(is_id)
}

fn is_id(text: &str) -> bool {
    (1..=ID_DIGITS_MAX).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<i64>().is_ok()
}

/// A query as browsers encode forms: unreserved characters, `*`, `&`, `=`, `+` and well-formed
/// `%XX` escapes only; no fragment, slash, backslash, space, control, nothing outside ASCII.
fn allowed_query(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%' {
            let escape = bytes.get(index + 1..index + 3);
            if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            index += 3;
            continue;
        }
        if !(byte.is_ascii_alphanumeric() || b"-._~*&=+".contains(&byte)) {
            return false;
        }
        index += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ui_pages_are_kept() {
        for target in [
            "/",
            "/queue",
            "/queue?state=decided&page=2",
            "/queue?enterprise=5001980001&reason=bg.risk.value",
            "/queue?assignee=li.wei&minAgeHours=4",
            "/search",
            "/audit?before=120",
            "/declarations/42",
            "/declarations/9223372036854775807",
            "/login?next=%2Fdeclarations%2F42",
        ] {
            assert_eq!(local_target(Some(target)), target, "{target}");
        }
    }

    #[test]
    fn everything_else_goes_to_the_queue() {
        let long = format!("/queue?page={}", "1".repeat(600));
        for hostile in [
            "",
            "//evil.com",
            "///evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/\t/evil.com",
            "/%09/evil.com",
            "/%2F%2Fevil.com",
            "%2F%2Fevil.com",
            "https://evil.com",
            "https:evil.com",
            "http:/evil.com",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "evil.com",
            "/queue/../..//evil.com",
            "/./queue",
            "/queue/",
            "/queue#//evil.com",
            "/queue?x=1#frag",
            "/queue?next=//evil.com",
            "/queue?x=%0",
            "/queue?x=%zz",
            "/queue\r\nSet-Cookie: bg_review_session=stolen",
            "/queue?x=1\r\nLocation: https://evil.com",
            "/queue\nLocation://evil.com",
            "/queue?x=\u{0}",
            "/queue?名=值",
            "/ queue",
            "/declarations/",
            "/declarations/-1",
            "/declarations/1e3",
            "/declarations/99999999999999999999",
            "/declarations/1/reveal",
            "/assets/review.js",
            "/metrics",
            "/v1/review/queue",
            "/lang/en?back=//evil.com",
            &long,
        ] {
            assert_eq!(local_target(Some(hostile)), FALLBACK, "{hostile:?}");
        }
        assert_eq!(local_target(None), FALLBACK);
    }

    #[test]
    fn what_passes_is_a_valid_location_header() {
        let target = local_target(Some("/queue?enterprise=%E6%B8%9D&page=3"));
        assert!(axum::http::HeaderValue::from_str(&target).is_ok());
    }
}
