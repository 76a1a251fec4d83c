//! The declaration page: head, actions, rule findings, the three documents side by side, lines
//! with tax and stock, the buyer's quota, the receipt timeline and the audit trail.

use maud::{Markup, html};
use rust_decimal::Decimal;

use crate::actions::RejectCode;
use crate::compare::Personal;
use crate::detail::Detail;
use crate::i18n::Lang;
use crate::sessions::Session;
use crate::ui::{Frame, Tab, csrf, money, notice, page, qty, reason_tag, status_badge};

/// What the declaration page shows.
#[derive(Debug, Clone)]
pub struct DetailView<'a> {
    /// Language.
    pub lang: Lang,
    /// Viewer.
    pub session: &'a Session,
    /// This page's path.
    pub path: &'a str,
    /// The declaration.
    pub detail: &'a Detail,
    /// Codes a rejection may carry.
    pub reject_codes: &'a [RejectCode],
    /// Officers a supervisor may assign to (empty for others).
    pub assignees: &'a [String],
    /// A banner: (`ok` | `bad` | `info`, text).
    pub notice: Option<(&'static str, String)>,
}

/// The declaration page.
pub fn render(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    let d = &view.detail.declaration;
    let frame = Frame {
        lang,
        session: Some(view.session),
        path: view.path,
        tab: Tab::None,
    };
    let body = html! {
        p.crumbs { a href="/queue" { "← " (lang.t("待审队列", "Review queue")) } }
        (head(view))
        @if let Some((kind, text)) = &view.notice { (notice(kind, text)) }
        div.columns {
            (actions(view))
            (findings(view))
        }
        (documents(view))
        (lines(view))
        div.columns {
            (quota(view))
            (timeline(view))
        }
        (audit_trail(view))
    };
    page(
        frame,
        &format!("{} {}", lang.t("订单", "Order"), d.order_no),
        body,
    )
}

fn field(label: &str, value: Markup) -> Markup {
    html! { div { dt { (label) } dd { (value) } } }
}

fn head(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    let detail = view.detail;
    let d = &detail.declaration;
    let name = |code: &str, name: &Option<String>| {
        html! { (name.as_deref().unwrap_or("")) " " small.muted { (code) } }
    };
    html! {
        section.card.head {
            div.title {
                h1 data-testid="order-no" { (d.order_no) }
                span data-testid="status" { (status_badge(lang, d.status)) }
                span.muted { "v" (d.version) }
            }
            dl.facts {
                (field(lang.t("清单编号", "Inventory no."), html! { (d.invt_no.as_deref().unwrap_or("—")) }))
                (field(lang.t("预录入编号", "Pre-entry no."), html! { (d.pre_no) }))
                (field(lang.t("企业内部编号", "copNo"), html! { (d.cop_no) }))
                (field(lang.t("电商平台", "Platform"), name(&d.ebp_code, &d.ebp_name)))
                (field(lang.t("电商企业", "Seller"), name(&d.ebc_code, &d.ebc_name)))
                (field(lang.t("支付企业", "Payment"), html! { (d.pay_code) }))
                (field(lang.t("物流企业 / 运单", "Logistics / waybill"),
                       html! { (d.logistics_code) " / " (d.logistics_no) }))
                (field(lang.t("申报时间", "Declared"), html! { (lang.time(d.created_at)) }))
                (field(lang.t("已等待", "Waiting"),
                       html! { (lang.age((chrono::Utc::now() - detail.task.held_at).num_seconds())) }))
                (field(lang.t("经办人", "Assignee"),
                       html! { (detail.task.assigned_to.as_deref().unwrap_or(lang.t("未分配", "unassigned"))) }))
                (field(lang.t("完税价格", "Dutiable value"), html! { "¥ " (money(d.dutiable_value)) }))
                (field(lang.t("应征税款", "Tax"), html! { "¥ " (money(d.tax_total)) }))
            }
        }
    }
}

fn actions(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    let detail = view.detail;
    let d = &detail.declaration;
    let session = view.session;
    let open = detail.task.state == "open" && matches!(d.status, 300 | 500);
    let mine_or_free = detail
        .task
        .assigned_to
        .as_deref()
        .is_none_or(|officer| officer == session.username);
    let may_decide =
        open && session.role.may_decide() && (mine_or_free || session.role.may_reassign());
    html! {
        section.card.actions {
            h2 { (lang.t("审核决定", "Decision")) }
            @if !open {
                p { (lang.t("本单已处理：", "Decided: ")) (status_badge(lang, d.status))
                    @if let Some(who) = &detail.task.decided_by { " · " (who) }
                    @if let Some(at) = detail.task.decided_at { " · " (lang.time(at)) } }
            } @else if !session.role.may_decide() {
                p.muted { (lang.t("审计角色只读。", "Auditors read only.")) }
            } @else if !may_decide {
                p.muted { (lang.t("本单已分配给其他关员。", "Assigned to another officer.")) }
            } @else {
                form.decision method="post" action={ "/declarations/" (d.id) "/decision" }
                    data-confirm=(lang.t("确认放行本单？", "Release this declaration?")) {
                    (csrf(session))
                    input type="hidden" name="version" value=(d.version);
                    input type="hidden" name="decision" value="release";
                    input type="text" name="reason" maxlength="500"
                        placeholder=(lang.t("备注（可选）", "Note (optional)"));
                    button.release type="submit" data-testid="release" { (lang.t("放行", "Release")) " 800" }
                }
                @if d.status == 300 {
                    form.decision method="post" action={ "/declarations/" (d.id) "/decision" }
                        data-confirm=(lang.t("确认转查验？", "Send to inspection?")) {
                        (csrf(session))
                        input type="hidden" name="version" value=(d.version);
                        input type="hidden" name="decision" value="inspection";
                        input type="text" name="reason" required minlength="2" maxlength="500"
                            placeholder=(lang.t("查验原因（必填）", "Why inspect (required)"));
                        button.inspect type="submit" data-testid="inspect" { (lang.t("转查验", "Inspect")) " 500" }
                    }
                }
                form.decision method="post" action={ "/declarations/" (d.id) "/decision" }
                    data-confirm=(lang.t("确认退单？", "Reject this declaration?")) {
                    (csrf(session))
                    input type="hidden" name="version" value=(d.version);
                    input type="hidden" name="decision" value="reject";
                    select name="code" required {
                        @for code in view.reject_codes {
                            option value=(code.code) {
                                (code.code) " " (lang.t(code.label_zh, code.label_en))
                            }
                        }
                    }
                    textarea name="reason" required minlength="2" maxlength="500" rows="2"
                        placeholder=(lang.t("退单原因（必填，将写入回执）", "Reason (required, sent in the receipt)")) {}
                    button.reject type="submit" data-testid="reject" { (lang.t("退单", "Reject")) " 100" }
                }
            }
            @if open { (assignment(view)) }
        }
    }
}

fn assignment(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    let session = view.session;
    let detail = view.detail;
    let id = detail.declaration.id;
    let current = detail.task.assigned_to.as_deref();
    html! {
        @if session.role.may_reassign() {
            form.assign method="post" action={ "/declarations/" (id) "/assign" } {
                (csrf(session))
                label {
                    span { (lang.t("分配给", "Assign to")) }
                    select name="assignee" {
                        option value="" selected[current.is_none()] { (lang.t("未分配", "unassigned")) }
                        @for name in view.assignees {
                            option value=(name) selected[current == Some(name.as_str())] { (name) }
                        }
                    }
                }
                button type="submit" { (lang.t("分配", "Assign")) }
            }
        } @else if session.role.may_decide() && current.is_none() {
            form.assign method="post" action={ "/declarations/" (id) "/assign" } {
                (csrf(session))
                input type="hidden" name="assignee" value=(session.username);
                button type="submit" { (lang.t("领取本单", "Claim")) }
            }
        } @else if session.role.may_decide() && current == Some(session.username.as_str()) {
            form.assign method="post" action={ "/declarations/" (id) "/assign" } {
                (csrf(session))
                input type="hidden" name="assignee" value="";
                button.link type="submit" { (lang.t("退回队列", "Give back")) }
            }
        }
    }
}

fn findings(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    let detail = view.detail;
    html! {
        section.card.findings {
            h2 { (lang.t("规则发现", "Rule findings")) }
            @if detail.identity_verified {
                p.notice.info { (lang.t("平台已核验订购人身份：支付人可与订购人不同。",
                                         "The platform verified the buyer: the payer may differ.")) }
            }
            ul {
                @for finding in &detail.findings {
                    li class=(finding.kind) {
                        @if let Some(code) = &finding.code { (reason_tag(lang, code)) " " }
                        @if let Some(field) = &finding.field { code { (field) } " " }
                        (finding.message)
                    }
                }
            }
            @if detail.declaration.status == 100 {
                p { b { (lang.t("退单原因：", "Rejected: ")) }
                    (detail.declaration.codes.join(", ")) " " (detail.declaration.reasons.join("; ")) }
            }
        }
    }
}

fn documents(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    let detail = view.detail;
    let session = view.session;
    let cell = |value: &Option<String>, personal: Personal| {
        html! {
            @match value {
                Some(v) => { span class=(if personal == Personal::No { "" } else { "pii" }) { (v) } },
                None => { span.muted { "—" } },
            }
        }
    };
    html! {
        section.card.documents {
            div.title {
                h2 { (lang.t("三单对碰", "Order, payment and waybill")) }
                @if detail.revealed {
                    span.badge.warn data-testid="revealed" { (lang.t("已显示个人信息（已审计）", "Personal data shown (audited)")) }
                } @else if session.role.may_reveal() {
                    form.reveal method="post" action={ "/declarations/" (detail.declaration.id) "/reveal" } {
                        (csrf(session))
                        input type="text" name="reason" required minlength="2" maxlength="500"
                            placeholder=(lang.t("查看原因（记入审计）", "Why (audited)"));
                        button type="submit" { (lang.t("显示个人信息", "Show personal data")) }
                    }
                }
            }
            @if let Some(problem) = &detail.documents_problem {
                (notice("bad", problem))
            } @else {
                table.docs {
                    thead { tr {
                        th { (lang.t("字段", "Field")) }
                        th { (lang.t("订单", "Order")) " " small { "CEB311" } }
                        th { (lang.t("支付单", "Payment")) " " small { "CEB411" } }
                        th { (lang.t("运单", "Waybill")) " " small { "CEB511" } }
                    } }
                    tbody {
                        @for row in &detail.documents {
                            tr.mismatch[row.mismatch] data-field=(row.field) {
                                th { (lang.t(row.label_zh, row.label_en))
                                    @if row.mismatch { " " span.flag title=(lang.t("不一致", "differs")) { "≠" } } }
                                td { (cell(&row.order, row.personal)) }
                                td { (cell(&row.payment, row.personal)) }
                                td { (cell(&row.waybill, row.personal)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn lines(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    let detail = view.detail;
    let d = &detail.declaration;
    html! {
        section.card {
            h2 { (lang.t("表体、税款与库存", "Lines, tax and stock")) }
            table.lines {
                thead { tr {
                    th { "#" } th { (lang.t("商品", "Goods")) } th { (lang.t("料号", "Item")) }
                    th { "HS" } th.num { (lang.t("数量", "Qty")) } th.num { (lang.t("总价", "Total")) }
                    th.num { (lang.t("完税价格", "Dutiable")) } th.num { (lang.t("关税", "Tariff")) }
                    th.num { (lang.t("增值税", "VAT")) } th.num { (lang.t("消费税", "Consumption")) }
                    th.num { (lang.t("在库 / 预占", "On hand / reserved")) }
                } }
                tbody {
                    @for line in &detail.lines {
                        tr {
                            td { (line.gnum) }
                            td { (line.item_name) br; small.muted { (line.item_no) } }
                            td { (line.item_record_no) br; small.muted { (line.ems_no) } }
                            td { code { (line.gcode) } }
                            td.num { (qty(line.qty)) " " small.muted { (line.unit) } }
                            td.num { (money(line.total_price)) }
                            td.num { (money(line.tax_price)) }
                            td.num { (money(line.tax_customs)) }
                            td.num { (money(line.tax_vat)) }
                            td.num { (money(line.tax_consumption)) }
                            td.num { (qty(line.stock_on_hand)) " / " (qty(line.stock_reserved)) }
                        }
                    }
                }
                tfoot { tr {
                    th colspan="7" { (lang.t("合计", "Total")) " " small.muted { "¥" } }
                    td.num { (money(d.tax_customs)) }
                    td.num { (money(d.tax_vat)) }
                    td.num { (money(d.tax_consumption)) }
                    td.num { b { (money(d.tax_total)) } }
                } }
            }
        }
    }
}

fn quota(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    html! {
        section.card.quota {
            h2 { (lang.t("订购人年度额度", "Buyer's annual quota")) }
            @match &view.detail.quota {
                Some(q) => {
                    p { (q.year) (lang.t(" 年已用 ", ": used ")) b { "¥ " (money(q.used)) }
                        " / ¥ " (money(q.limit)) }
                    // A meter, not a styled bar: the CSP allows no inline styles.
                    meter min="0" max=(money(q.limit)) value=(money(q.used))
                        high=(money(q.limit * Decimal::new(8, 1))) {}
                    p.muted { (lang.t("本单计入 ", "This declaration counts ")) "¥ " (money(q.this_declaration))
                        " · " (lang.t("剩余 ", "left ")) "¥ " (money(q.limit - q.used)) }
                },
                None => { p.muted { "—" } },
            }
        }
    }
}

fn timeline(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    html! {
        section.card.timeline {
            h2 { (lang.t("回执时间线", "Receipt timeline")) }
            ol {
                @for receipt in &view.detail.receipts {
                    li {
                        (status_badge(lang, receipt.return_status))
                        " " span.info { (receipt.return_info) }
                        br;
                        small.muted {
                            "#" (receipt.sequence) " · " (lang.time(receipt.created_at)) " · "
                            @if receipt.published {
                                (lang.t("已发布", "published"))
                            } @else {
                                (lang.t("待发布", "not yet published"))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn audit_trail(view: &DetailView<'_>) -> Markup {
    let lang = view.lang;
    html! {
        section.card {
            h2 { (lang.t("审计记录", "Audit trail")) }
            @if view.detail.audit.is_empty() {
                p.muted { (lang.t("暂无。", "None yet.")) }
            } @else {
                table.audit {
                    thead { tr {
                        th { (lang.t("时间", "When")) } th { (lang.t("人员", "Who")) }
                        th { (lang.t("操作", "What")) } th { (lang.t("原因", "Why")) }
                    } }
                    tbody {
                        @for entry in &view.detail.audit {
                            tr {
                                td { (lang.time(entry.at)) }
                                td { (entry.actor) }
                                td { code { (entry.action) } }
                                td { (entry.reason) }
                            }
                        }
                    }
                }
            }
        }
    }
}
