//! The queue page (open and decided reviews, filters, counts, pagination) and the search page,
//! which lists its results in the same table.

use maud::{Markup, html};

use crate::i18n::Lang;
use crate::queue::{QueueItem, QueuePage, QueueQuery, TaskState};
use crate::sessions::Session;
use crate::ui::{Frame, Tab, money, notice, page, reason_tag, status_badge};

/// Waiting-time filters, hours.
const AGE_FILTERS_HOURS: [u32; 4] = [1, 4, 24, 72];

/// What the queue page shows.
#[derive(Debug, Clone)]
pub struct QueueView<'a> {
    /// Language.
    pub lang: Lang,
    /// Viewer.
    pub session: &'a Session,
    /// This page's path and query.
    pub path: &'a str,
    /// The filters as asked.
    pub query: &'a QueueQuery,
    /// The page.
    pub page: &'a QueuePage,
    /// A notice after a decision (`ok`, text).
    pub notice: Option<(&'static str, String)>,
}

/// The queue page.
pub fn render(view: &QueueView<'_>) -> Markup {
    let lang = view.lang;
    let decided = view.page.state == TaskState::Decided;
    let title = if decided {
        lang.t("已处理", "Decided")
    } else {
        lang.t("待审队列", "Review queue")
    };
    let frame = Frame {
        lang,
        session: Some(view.session),
        path: view.path,
        tab: if decided { Tab::Decided } else { Tab::Queue },
    };
    let body = html! {
        div.heading {
            h1 { (title) " " span.count data-testid="queue-total" { (view.page.total) } }
            (summary(lang, view.page))
        }
        @if let Some((kind, text)) = &view.notice { (notice(kind, text)) }
        (filters(lang, view.query, view.page))
        @if view.page.items.is_empty() {
            p.empty { (lang.t("没有符合条件的申报清单。", "No declarations match.")) }
        } @else {
            (table(lang, &view.page.items, decided))
            (pagination(lang, view.query, view.page))
        }
    };
    page(frame, title, body)
}

fn summary(lang: Lang, page: &QueuePage) -> Markup {
    let counts = &page.counts;
    html! {
        div.summary {
            span.chip { (lang.t("待审合计", "Waiting")) " " b { (counts.open) } }
            @for status in &counts.by_status {
                @let code = status.key.parse::<i32>().unwrap_or_default();
                span.chip { (status_badge(lang, code)) " " b { (status.count) } }
            }
            a.chip href="/queue?assignee=me" { (lang.t("分配给我", "Assigned to me")) " " b { (counts.mine) } }
            @for reason in counts.by_reason.iter().take(6) {
                a.chip href={ "/queue?reason=" (reason.key) } {
                    (reason_tag(lang, &reason.key)) " " b { (reason.count) }
                }
            }
        }
    }
}

fn select_option(value: &str, text: &str, selected: bool) -> Markup {
    html! { option value=(value) selected[selected] { (text) } }
}

fn filters(lang: Lang, query: &QueueQuery, page: &QueuePage) -> Markup {
    let counts = &page.counts;
    let is = |current: &Option<String>, value: &str| current.as_deref() == Some(value);
    html! {
        form.filters method="get" action="/queue" {
            @if page.state == TaskState::Decided {
                input type="hidden" name="state" value="decided";
            }
            label {
                span { (lang.t("企业", "Enterprise")) }
                select name="enterprise" {
                    (select_option("", lang.t("全部", "All"), query.enterprise.is_none()))
                    @for e in &counts.by_enterprise {
                        @let text = format!("{} {} ({})", e.key, e.label.as_deref().unwrap_or(""), e.count);
                        (select_option(&e.key, &text, is(&query.enterprise, &e.key)))
                    }
                }
            }
            label {
                span { (lang.t("商品章节", "HS chapter")) }
                select name="chapter" {
                    (select_option("", lang.t("全部", "All"), query.chapter.is_none()))
                    @for c in &counts.by_chapter {
                        @let text = format!("{} ({})", lang.chapter(&c.key), c.count);
                        (select_option(&c.key, &text, is(&query.chapter, &c.key)))
                    }
                }
            }
            label {
                span { (lang.t("审核原因", "Reason")) }
                select name="reason" {
                    (select_option("", lang.t("全部", "All"), query.reason.is_none()))
                    @for r in &counts.by_reason {
                        @let text = format!("{} ({})", lang.hold_reason(&r.key), r.count);
                        (select_option(&r.key, &text, is(&query.reason, &r.key)))
                    }
                }
            }
            label {
                span { (lang.t("等待时长", "Waiting")) }
                select name="minAgeHours" {
                    (select_option("", lang.t("不限", "Any"), query.min_age_hours.is_none()))
                    @for hours in AGE_FILTERS_HOURS {
                        @let text = format!("≥ {}", lang.age(i64::from(hours) * 3600));
                        (select_option(&hours.to_string(), &text, query.min_age_hours == Some(hours)))
                    }
                }
            }
            button type="submit" { (lang.t("筛选", "Filter")) }
            a.clear href=(if page.state == TaskState::Decided { "/queue?state=decided" } else { "/queue" }) {
                (lang.t("清除", "Clear"))
            }
        }
    }
}

/// The table of declarations (queue, decided list, search results).
pub fn table(lang: Lang, items: &[QueueItem], decided: bool) -> Markup {
    html! {
        table.queue {
            thead {
                tr {
                    th { (if decided { lang.t("处理时间", "Decided") } else { lang.t("已等待", "Waiting") }) }
                    th { (lang.t("订单编号", "Order no.")) }
                    th { (lang.t("电商平台 / 电商企业", "Platform / seller")) }
                    th { (lang.t("状态", "Status")) }
                    th { (lang.t("审核原因", "Reasons")) }
                    th.num { (lang.t("完税价格", "Dutiable")) }
                    th.num { (lang.t("税款", "Tax")) }
                    th { (if decided { lang.t("处理人", "Decided by") } else { lang.t("经办人", "Assignee") }) }
                }
            }
            tbody {
                @for item in items {
                    tr data-testid="queue-row" data-order-no=(item.order_no) {
                        td.age {
                            @match (decided, item.decided_at) {
                                (true, Some(at)) => { (lang.time(at)) },
                                _ => { (lang.age(item.age_seconds)) },
                            }
                        }
                        td {
                            a.order href={ "/declarations/" (item.id) } { (item.order_no) }
                            @if let Some(invt_no) = &item.invt_no { br; small.muted { (invt_no) } }
                        }
                        td {
                            (item.ebp_name.as_deref().unwrap_or(&item.ebp_code))
                            br;
                            small.muted { (item.ebc_name.as_deref().unwrap_or(&item.ebc_code)) }
                        }
                        td { (status_badge(lang, item.status)) }
                        td { @for code in &item.codes { (reason_tag(lang, code)) " " } }
                        td.num { (money(item.dutiable_value)) }
                        td.num { (money(item.tax_total)) }
                        td {
                            @let who = if decided { &item.decided_by } else { &item.assigned_to };
                            @match who {
                                Some(name) => { (name) },
                                None => { span.muted { (lang.t("未分配", "unassigned")) } },
                            }
                        }
                    }
                }
            }
        }
    }
}

fn pagination(lang: Lang, query: &QueueQuery, page: &QueuePage) -> Markup {
    let link = |to: u32| {
        let mut q = query.clone();
        q.page = Some(to);
        format!(
            "/queue?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    };
    html! {
        nav.pages aria-label="pagination" {
            @if page.page > 1 {
                a rel="prev" href=(link(page.page - 1)) { "« " (lang.t("上一页", "Previous")) }
            }
            span { (lang.t("第 ", "Page ")) (page.page) " / " (page.pages) (lang.t(" 页", "")) }
            @if page.page < page.pages {
                a rel="next" href=(link(page.page + 1)) { (lang.t("下一页", "Next")) " »" }
            }
        }
    }
}

/// What the search page shows.
#[derive(Debug, Clone)]
pub struct SearchView<'a> {
    /// Language.
    pub lang: Lang,
    /// Viewer.
    pub session: &'a Session,
    /// The kind searched by (`orderNo`, `invtNo`, `logisticsNo`, `buyerId`).
    pub by: &'a str,
    /// The number searched for (never echoed for an ID number).
    pub value: &'a str,
    /// Results, when a search ran.
    pub results: Option<&'a [QueueItem]>,
    /// A problem with the input.
    pub problem: Option<String>,
}

/// The search page.
pub fn render_search(view: &SearchView<'_>) -> Markup {
    let lang = view.lang;
    let frame = Frame {
        lang,
        session: Some(view.session),
        path: "/search",
        tab: Tab::Search,
    };
    let kinds = [
        ("orderNo", lang.t("订单编号", "Order no.")),
        ("invtNo", lang.t("清单编号", "Inventory no.")),
        ("logisticsNo", lang.t("物流运单编号", "Waybill no.")),
        ("buyerId", lang.t("订购人证件号码", "Buyer ID number")),
    ];
    let shown_value = if view.by == "buyerId" { "" } else { view.value };
    let body = html! {
        h1 { (lang.t("查询", "Search")) }
        p.muted {
            (lang.t("在经人工审核的申报清单中精确查询。按证件号码查询时只比对其密钥散列，并记入审计日志。",
                    "Exact match among declarations held for review. An ID number is matched on its keyed hash only, and the search is audited."))
        }
        form.filters method="post" action="/search" {
            (crate::ui::csrf(view.session))
            label {
                span { (lang.t("查询项", "Search by")) }
                select name="by" {
                    @for (value, text) in kinds { (select_option(value, text, view.by == value)) }
                }
            }
            label.grow {
                span { (lang.t("编号", "Number")) }
                input name="value" required maxlength="60" value=(shown_value) autocomplete="off";
            }
            button type="submit" { (lang.t("查询", "Search")) }
        }
        @if let Some(problem) = &view.problem { (notice("bad", problem)) }
        @if let Some(results) = view.results {
            @if results.is_empty() {
                p.empty { (lang.t("没有找到。", "Nothing found.")) }
            } @else {
                (table(lang, results, false))
            }
        }
    };
    page(frame, lang.t("查询", "Search"), body)
}
