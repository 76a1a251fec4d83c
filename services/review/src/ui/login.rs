//! The login page.

use maud::{Markup, html};

use crate::i18n::Lang;
use crate::ui::{Frame, Tab, page};

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
    /// Show "wrong username or password".
    pub failed: bool,
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
            @if view.failed {
                div.notice.bad role="alert" { (lang.t("用户名或密码错误。", "Wrong username or password.")) }
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
