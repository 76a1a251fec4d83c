//! The audit log page (supervisors and auditors): how far the chain is verified (or where it
//! breaks), and the entries, newest first, each checked against its neighbours.

use maud::{Markup, html};

use crate::audit::verify::{ChainStatus, Page};
use crate::i18n::Lang;
use crate::sessions::Session;
use crate::ui::{Frame, Tab, page};

/// What the audit page shows.
#[derive(Debug, Clone)]
pub struct AuditView<'a> {
    /// Language.
    pub lang: Lang,
    /// Viewer.
    pub session: &'a Session,
    /// The chain's verification.
    pub chain: &'a ChainStatus,
    /// This page's entries and those of them that do not verify.
    pub page: &'a Page,
}

fn chain_notice(lang: Lang, chain: &ChainStatus) -> Markup {
    match chain {
        ChainStatus::Verified {
            mark,
            pending,
            full_verified_at,
        } => html! {
            div.notice.ok data-testid="chain-ok" {
                (lang.t("哈希链校验通过：至第 ", "Hash chain verified through entry #")) (mark.id)
                (lang.t(" 条（共 ", " (")) (mark.entries) (lang.t(" 条记录），链头 ", " entries), head "))
                code { (hex::encode(&mark.hash)) }
                @if let Some(at) = full_verified_at {
                    (lang.t("；上次全链校验 ", "; last full verification ")) (lang.time(*at))
                }
                @if *pending {
                    (lang.t("；更新的记录将在下次查看时校验。", "; newer entries are verified on the next view."))
                }
            }
        },
        ChainStatus::Broken(broken) => html! {
            div.notice.bad role="alert" data-testid="chain-broken" data-entry=(broken.id) {
                (lang.t("哈希链校验失败：第 ", "Hash chain broken at entry #")) (broken.id)
                (lang.t(" 条，", ": ")) (broken.why)
            }
        },
    }
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
        (chain_notice(lang, view.chain))
        @for fault in &view.page.faults {
            div.notice.bad role="alert" data-testid="entry-broken" data-entry=(fault.id) {
                (lang.t("本页第 ", "Entry #")) (fault.id)
                (lang.t(" 条记录未通过校验：", " on this page does not verify: ")) (fault.why)
            }
        }
        table.audit {
            thead { tr {
                th { "#" } th { (lang.t("时间", "When")) } th { (lang.t("人员", "Who")) }
                th { (lang.t("操作", "What")) } th { (lang.t("对象", "Subject")) }
                th { (lang.t("原因", "Why")) } th { (lang.t("详情", "Detail")) }
            } }
            tbody {
                @for entry in &view.page.entries {
                    tr.bad[view.page.faults.iter().any(|f| f.id == entry.id)] {
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
        @if let Some(before) = view.page.older {
            nav.pages { a href={ "/audit?before=" (before) } { (lang.t("更早的记录", "Older entries")) " »" } }
        }
    };
    page(frame, lang.t("审计日志", "Audit log"), body)
}
