//! The server-rendered pages (maud: templates are Rust, every value escaped). One module per
//! page; this one holds the frame every page shares and the small pieces they reuse. No page
//! needs JavaScript to work: `/assets/review.js` only asks for confirmation before decisions.

pub mod audit;
pub mod detail;
pub mod login;
pub mod queue;

use maud::{DOCTYPE, Markup, html};
use rust_decimal::Decimal;

use crate::i18n::Lang;
use crate::sessions::Session;

/// Which tab of the navigation is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The open queue.
    Queue,
    /// Decided reviews.
    Decided,
    /// Search.
    Search,
    /// The audit log.
    Audit,
    /// None (login, errors, a declaration).
    None,
}

/// What the frame of a page needs.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Language.
    pub lang: Lang,
    /// The logged-in officer (none on the login page).
    pub session: Option<&'a Session>,
    /// This page's path and query (the language switch comes back here).
    pub path: &'a str,
    /// Current tab.
    pub tab: Tab,
}

/// The role's name.
pub fn role_name(lang: Lang, role: crate::officers::Role) -> &'static str {
    use crate::officers::Role;
    match role {
        Role::Officer => lang.t("关员", "Officer"),
        Role::Supervisor => lang.t("科长", "Supervisor"),
        Role::Auditor => lang.t("审计", "Auditor"),
    }
}

/// A whole page: head, navigation, `body`, footer.
pub fn page(frame: Frame<'_>, title: &str, body: Markup) -> Markup {
    let lang = frame.lang;
    let back = serde_urlencoded::to_string([("back", frame.path)]).unwrap_or_default();
    html! {
        (DOCTYPE)
        html lang=(lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("海关审单", "Customs review")) }
                link rel="stylesheet" href="/assets/review.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
                script src="/assets/review.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/queue" {
                        span.seal { "关" }
                        span { (lang.t("跨境电商审单", "CBEC review")) }
                        small { "bondgate" }
                    }
                    @if let Some(session) = frame.session {
                        (navigation(frame, session))
                    }
                    div.tools {
                        @if let Some(session) = frame.session {
                            span.who {
                                (session.display_name) " · " (role_name(lang, session.role))
                            }
                        }
                        a.lang href={ "/lang/" (lang.other().tag()) "?" (back) }
                            lang=(lang.other().tag()) { (lang.other().name()) }
                        @if let Some(session) = frame.session {
                            form.inline method="post" action="/logout" {
                                (csrf(session))
                                button.link type="submit" { (lang.t("退出", "Log out")) }
                            }
                        }
                    }
                }
                main { (body) }
                footer {
                    (lang.t("两路寸滩综合保税区 · 跨境电商网购保税进口（1210）",
                            "Lianglu-Cuntan comprehensive bonded zone · bonded CBEC imports (1210)"))
                    @if let Some(session) = frame.session {
                        " · " (lang.t("会话到期", "session ends")) " " (lang.time(session.expires_at))
                    }
                }
            }
        }
    }
}

fn navigation(frame: Frame<'_>, session: &Session) -> Markup {
    let lang = frame.lang;
    let tab = |target: Tab, href: &str, text: &str| {
        html! { a.current[frame.tab == target] href=(href) { (text) } }
    };
    html! {
        nav {
            (tab(Tab::Queue, "/queue", lang.t("待审队列", "Queue")))
            (tab(Tab::Decided, "/queue?state=decided", lang.t("已处理", "Decided")))
            (tab(Tab::Search, "/search", lang.t("查询", "Search")))
            @if session.role.may_read_audit() {
                (tab(Tab::Audit, "/audit", lang.t("审计日志", "Audit log")))
            }
        }
    }
}

/// The hidden CSRF field of every form.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf_token); }
}

/// An amount in CNY with two decimals.
pub fn money(value: Decimal) -> String {
    format!("{:.2}", value.round_dp(2))
}

/// A quantity without trailing zeros.
pub fn qty(value: Decimal) -> String {
    value.normalize().to_string()
}

/// A status badge: `300 人工审核`.
pub fn status_badge(lang: Lang, status: i32) -> Markup {
    let class = match status {
        800 => "ok",
        100 => "bad",
        300 => "hold",
        500 => "inspect",
        s if s < 0 => "bad",
        _ => "info",
    };
    html! { span class={ "badge " (class) } { (status) " " (lang.status(status)) } }
}

/// A hold or rejection code as a small tag.
pub fn reason_tag(lang: Lang, code: &str) -> Markup {
    html! { span.tag title=(code) { (lang.hold_reason(code)) } }
}

/// A notice banner.
pub fn notice(kind: &str, text: &str) -> Markup {
    html! { div class={ "notice " (kind) } role="status" { (text) } }
}

/// An error page's body.
pub fn error_body(lang: Lang, status: u16, code: &str, message: &str) -> Markup {
    html! {
        section.card.error {
            h1 { (status) " · " (lang.t("无法完成", "Cannot do that")) }
            p { (message) }
            p.muted { code { (code) } }
            p { a href="/queue" { "← " (lang.t("返回待审队列", "Back to the queue")) } }
        }
    }
}

/// The page's raw stylesheet and script, served from the binary.
pub const STYLESHEET: &str = include_str!("../../assets/review.css");
/// See [`STYLESHEET`].
pub const SCRIPT: &str = include_str!("../../assets/review.js");
/// See [`STYLESHEET`].
pub const FAVICON: &str = include_str!("../../assets/favicon.svg");
