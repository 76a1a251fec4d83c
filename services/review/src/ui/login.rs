//! The login page.

use maud::{Markup, html};

use crate::i18n::Lang;
use crate::ui::{Frame, Tab, page};

/// Why the login form is shown again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// It is not (a first visit, or after logout).
    None,
    /// Wrong username or password.
    Failed,
    /// Too many failed logins: refused without checking the password.
    Throttled {
        /// Seconds until the next attempt may be made.
        retry_after_seconds: u64,
    },
}

/// What the login form shows.
#[derive(Debug, Clone)]
pub struct LoginView<'a> {
    /// Language.
    pub lang: Lang,
    /// The double-submit CSRF token (also in the `bg_review_login` cookie).
    pub csrf: &'a str,
    /// Where to go afterwards.
    pub next: &'a str,
    /// The username typed before a failed attempt.
    pub username: &'a str,
    /// Why the form is shown again.
    pub problem: Problem,
    /// Show "you were logged out" / "your session ended".
    pub message: Option<&'a str>,
}

/// The login page.
pub fn render(view: &LoginView<'_>) -> Markup {
    let lang = view.lang;
    let path = format!(
        "/login?{}",
        serde_urlencoded::to_string([("next", view.next)]).unwrap_or_default()
    );
    let frame = Frame {
        lang,
        session: None,
        path: &path,
        tab: Tab::None,
    };
    let body = html! {
        section.card.login {
            h1 { (lang.t("关员登录", "Officer login")) }
            p.muted { (lang.t("审核人工审核（300）与查验（500）状态的申报清单。",
                              "Review declarations held for manual review (300) or inspection (500).")) }
            @match view.problem {
                Problem::None => {},
                Problem::Failed => {
                    div.notice.bad role="alert" { (lang.t("用户名或密码错误。", "Wrong username or password.")) }
                },
                Problem::Throttled { retry_after_seconds } => {
                    div.notice.bad role="alert" data-code="bg.auth.throttled" {
                        (lang.t("登录失败次数过多，请 ", "Too many failed logins: try again in "))
                        (retry_after_seconds.div_ceil(60))
                        (lang.t(" 分钟后再试。", " min."))
                    }
                },
            }
            @if let Some(message) = view.message {
                div.notice.info role="status" { (message) }
            }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(view.csrf);
                input type="hidden" name="next" value=(view.next);
                label {
                    span { (lang.t("用户名", "Username")) }
                    input name="username" autocomplete="username" required autofocus
                        value=(view.username) maxlength="64";
                }
                label {
                    span { (lang.t("密码", "Password")) }
                    input type="password" name="password" autocomplete="current-password"
                        required maxlength="256";
                }
                button.primary type="submit" data-testid="login" { (lang.t("登录", "Log in")) }
            }
        }
    };
    page(frame, lang.t("登录", "Log in"), body)
}
