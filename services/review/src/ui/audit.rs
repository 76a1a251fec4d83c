//! The audit log page (supervisors and auditors): whether the chain verifies, and the entries,
//! newest first.

use maud::{Markup, html};

use crate::audit::{ChainHead, Entry};
use crate::i18n::Lang;
use crate::sessions::Session;
use crate::ui::{Frame, Tab, notice, page};

/// What the audit page shows.
#[derive(Debug, Clone)]
pub struct AuditView<'a> {
    /// Language.
    pub lang: Lang,
    /// Viewer.
    pub session: &'a Session,
    /// The chain's verification: its head, or why it fails.
    pub chain: Result<&'a ChainHead, String>,
    /// Entries of this page.
    pub entries: &'a [Entry],
    /// The id to continue before, when there are older entries.
    pub older: Option<i64>,
}

/// The audit page.
pub fn render(view: &AuditView<'_>) -> Markup {
    let lang = view.lang;
    let frame = Frame {
        lang,
        session: Some(view.session),
        path: "/audit",
        tab: Tab::Audit,
    };
    let body = html! {
        h1 { (lang.t("审计日志", "Audit log")) }
        @match &view.chain {
            Ok(head) => {
                div.notice.ok data-testid="chain-ok" {
                    (lang.t("哈希链校验通过：", "Hash chain verified: ")) (head.entries)
                    (lang.t(" 条记录，链头 ", " entries, head ")) code { (head.head_hash) }
                }
            },
            Err(why) => { (notice("bad", &format!("{} {why}", lang.t("哈希链校验失败：", "Hash chain broken:")))) },
        }
        table.audit {
            thead { tr {
                th { "#" } th { (lang.t("时间", "When")) } th { (lang.t("人员", "Who")) }
                th { (lang.t("操作", "What")) } th { (lang.t("对象", "Subject")) }
                th { (lang.t("原因", "Why")) } th { (lang.t("详情", "Detail")) }
            } }
            tbody {
                @for entry in view.entries {
                    tr {
                        td { (entry.id) }
                        td { (lang.time(entry.at)) }
                        td { (entry.actor) }
                        td { code { (entry.action) } }
                        td {
                            @match entry.subject.strip_prefix("declaration:") {
                                Some(id) => { a href={ "/declarations/" (id) } { (entry.subject) } },
                                None => { (entry.subject) },
                            }
                        }
                        td { (entry.reason) }
                        td { code.small { (entry.detail) } }
                    }
                }
            }
        }
        @if let Some(before) = view.older {
            nav.pages { a href={ "/audit?before=" (before) } { (lang.t("更早的记录", "Older entries")) " »" } }
        }
    };
    page(frame, lang.t("审计日志", "Audit log"), body)
}
