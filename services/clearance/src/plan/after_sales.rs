//! Cancellations (CEB623), returns (CEB625) and logistics statuses (CEB513) of declared orders,
//! in record order: the sender must be a party of the declaration as stored (ADR 0006), the
//! domain gives the verdict ([`bondgate_domain::aftersales`]), the planner moves stock, quota and
//! weights and keeps the application under the order it arrived for.
//!
//! A cancellation of a parcel still in the zone releases its reservation (held) or puts its
//! stock back (released); the quota and weights come back. A return credits the quota and weights
//! on approval; its stock comes back only when the goods are recorded back in the zone
//! (`bondgate returns arrived`), within 45 days of release (CBEC.md §3 rules 9 and 11).

use std::collections::BTreeMap;

use bondgate_domain::aftersales::{self, DeclaredInventory, Verdict};
use bondgate_domain::allocation::StockKey;
use bondgate_domain::authorization::{self, DocumentKind, Refusal};
use bondgate_domain::codes;
use bondgate_domain::documents::{Cancellation, LogisticsStatus, Refund};
use bondgate_domain::limits::{quota_credit_for_refund, weight_credit_for_refund};
use bondgate_domain::receipts::{self, Flow};
use bondgate_domain::status::ReturnStatus;
use bondgate_domain::tax::LineTax;
use bondgate_domain::types::{HsCode, TariffLine};
use rust_decimal::Decimal;

use super::{
    AfterSaleRow, Context, DeclarationUpdate, ExitRow, Movement, MovementKind, OrderWork, Planner,
    local_date,
};
use crate::decode::{Doc, Incoming};
use crate::state::{Locked, StoredDeclaration, StoredLine, WeightKey};

impl Planner {
    /// Answers the cancellations, returns and logistics statuses of every order, in record order.
    pub fn after_sales_all(
        &mut self,
        works: &mut [OrderWork],
        ctx: &Context<'_>,
        locked: &mut Locked,
    ) {
        for work in works.iter_mut() {
            for incoming in std::mem::take(&mut work.after_sales) {
                match incoming.doc.clone() {
                    Doc::Cancellation(c) => self.cancel(work, incoming, &c, ctx, locked),
                    Doc::Refund(r) => self.refund(work, incoming, &r, ctx, locked),
                    Doc::LogisticsStatus(s) => self.exit(work, incoming, &s, ctx),
                    _ => {}
                }
            }
            if work.declaration.is_none() {
                self.pending_sequence(work);
            }
        }
    }

    /// Applies a cancellation (CEB623) to an order's declaration.
    fn cancel(
        &mut self,
        work: &mut OrderWork,
        incoming: Incoming,
        cancellation: &Cancellation,
        ctx: &Context<'_>,
        locked: &mut Locked,
    ) {
        let flow = Flow::Cancellation;
        let invt_no = cancellation.head.invt_no.to_string();
        let kind = DocumentKind::Cancellation;
        let declaration = match authorize(work, kind, &incoming, &invt_no) {
            Ok(declaration) => declaration,
            Err(refusal) => {
                return self.refused_application(work, flow, &refusal, incoming, invt_no);
            }
        };
        let lines = lines_of(&declaration);
        let declared = declared_inventory(&declaration, &lines);
        let rules = &ctx.rules.after_sales;
        match aftersales::cancellation_verdict(&declared, &invt_no, &incoming.digest, rules) {
            Verdict::Duplicate => {}
            Verdict::Refused(code, detail) => {
                self.refuse(work, flow, code, &detail);
                self.store_application(work, flow, invt_no, code.code, incoming);
            }
            Verdict::Approved => {
                self.return_stock(work, &declaration, locked);
                self.credit(
                    &declaration,
                    declaration.quota_amount,
                    &declaration.weights,
                    locked,
                );
                // Held (300) or in inspection (500): the officer's task ends with the order.
                if matches!(declaration.status, 300 | 500) {
                    self.writes.review_tasks_closed.push(declaration.id);
                }
                self.writes.declaration_updates.push(DeclarationUpdate {
                    id: declaration.id,
                    quota_amount: Decimal::ZERO,
                    weights: BTreeMap::new(),
                    cancelled: true,
                    refunded: false,
                });
                self.receipt(work, receipts::after_sale_approved(flow));
                self.store_application(work, flow, invt_no, 399, incoming);
                if let Some(stored) = work.declaration.as_mut() {
                    stored.cancelled = true;
                    stored.cancellation_digest = Some(work_digest(&self.writes.after_sales));
                    stored.quota_amount = Decimal::ZERO;
                    stored.weights.clear();
                }
            }
        }
    }

    /// A held declaration's reservation is released; a released one's stock comes back (the
    /// parcel never left the zone).
    fn return_stock(
        &mut self,
        work: &OrderWork,
        declaration: &StoredDeclaration,
        locked: &mut Locked,
    ) {
        let released = declaration.status == 800;
        for line in &declaration.lines {
            let item = StockKey::new(line.ems_no.clone(), line.item_record_no.clone());
            let balance = locked.stock.entry(item.clone()).or_default();
            let (kind, on_hand_delta, reserved_delta) = if released {
                assert!(balance.restore(line.qty).is_ok(), "restoring cannot fail");
                (MovementKind::Restore, line.qty, Decimal::ZERO)
            } else {
                let unreserved = balance.unreserve(line.qty);
                assert!(unreserved.is_ok(), "reserved by this declaration");
                (MovementKind::Release, Decimal::ZERO, -line.qty)
            };
            self.writes.movements.push(Movement {
                item,
                kind,
                on_hand_delta,
                reserved_delta,
                declaration: work.key.clone(),
            });
        }
    }

    /// Applies a return (CEB625) to a released declaration.
    fn refund(
        &mut self,
        work: &mut OrderWork,
        incoming: Incoming,
        refund: &Refund,
        ctx: &Context<'_>,
        locked: &mut Locked,
    ) {
        let flow = Flow::Refund;
        let invt_no = refund.head.invt_no.to_string();
        let declaration = match authorize(work, DocumentKind::Refund, &incoming, &invt_no) {
            Ok(declaration) => declaration,
            Err(refusal) => {
                return self.refused_application(work, flow, &refusal, incoming, invt_no);
            }
        };
        let lines = lines_of(&declaration);
        let declared = declared_inventory(&declaration, &lines);
        let rules = &ctx.rules.after_sales;
        match aftersales::refund_verdict(&declared, refund, &incoming.digest, ctx.today(), rules) {
            Verdict::Duplicate => {}
            Verdict::Refused(code, detail) => {
                self.refuse(work, flow, code, &detail);
                self.store_application(work, flow, invt_no, code.code, incoming);
            }
            Verdict::Approved => {
                let returned: Vec<(u32, Decimal)> = refund
                    .lines
                    .iter()
                    .map(|line| (line.gnum, line.qty.value()))
                    .collect();
                let quota = refund_credit(&declaration, &returned);
                let tariffs: Vec<(u32, TariffLine, Decimal)> = lines
                    .iter()
                    .map(|(gnum, gcode, qty)| (*gnum, gcode.tariff_line(), *qty))
                    .collect();
                let weights = weight_credit_for_refund(&declaration.weights, &tariffs, &returned);
                self.credit(&declaration, quota, &weights, locked);
                self.writes.declaration_updates.push(DeclarationUpdate {
                    id: declaration.id,
                    quota_amount: declaration.quota_amount - quota,
                    weights: remaining(&declaration.weights, &weights),
                    cancelled: false,
                    refunded: true,
                });
                self.receipt(work, receipts::after_sale_approved(flow));
                self.store_application(work, flow, invt_no, 399, incoming);
                if let Some(stored) = work.declaration.as_mut() {
                    stored.refunded = true;
                    stored.refund_digest = Some(work_digest(&self.writes.after_sales));
                }
            }
        }
    }

    /// Records a logistics status (CEB513): from its logistics company, for the declared waybill
    /// of a released, not cancelled parcel; the parcel counts as out of the zone from now on.
    fn exit(
        &mut self,
        work: &mut OrderWork,
        incoming: Incoming,
        status: &LogisticsStatus,
        ctx: &Context<'_>,
    ) {
        let flow = Flow::LogisticsStatus;
        let waybill = (
            status.logistics_code.to_string(),
            status.logistics_no.clone(),
        );
        let sender = &incoming.sender_code;
        if let Err(refusal) = authorization::authorize_waybill(sender, &waybill.0) {
            return self.refuse_unauthorized(work, flow, &refusal);
        }
        let declaration = work
            .declaration
            .as_ref()
            .filter(|d| d.logistics == waybill && d.status == 800 && !d.cancelled);
        let Some(declaration) = declaration else {
            let detail = format!(
                "物流运单状态报文处理失败，未找到已放行的运单[{}]",
                waybill.1
            );
            return self.refuse(work, flow, codes::LOGISTICS_STATUS_NOT_FOUND, &detail);
        };
        let declaration_id = Some(declaration.id);
        self.writes.exits.push(ExitRow {
            key: work.key.clone(),
            waybill,
            logistics_status: status.logistics_status.clone(),
            declaration_id,
            incoming,
        });
        if let Some(stored) = work.declaration.as_mut() {
            stored.exited_at.get_or_insert(ctx.now);
        }
        self.receipt(work, receipts::logistics_status_recorded());
    }

    fn refused_application(
        &mut self,
        work: &mut OrderWork,
        flow: Flow,
        refusal: &Refusal,
        incoming: Incoming,
        invt_no: String,
    ) {
        self.refuse_unauthorized(work, flow, refusal);
        let status = refusal.error_code().code;
        self.store_application(work, flow, invt_no, status, incoming);
    }

    /// Credits quota and weights back to the declaration's buyer and year.
    fn credit(
        &mut self,
        declaration: &StoredDeclaration,
        quota: Decimal,
        weights: &BTreeMap<TariffLine, Decimal>,
        locked: &mut Locked,
    ) {
        let key = (declaration.buyer_hash.clone(), declaration.quota_year);
        *locked.quotas.entry(key.clone()).or_default() -= quota;
        *self.writes.quota_deltas.entry(key.clone()).or_default() -= quota;
        for (tariff, kg) in weights {
            let weight: WeightKey = (key.0.clone(), key.1, tariff.clone());
            *locked.weights.entry(weight.clone()).or_default() -= *kg;
            *self.writes.weight_deltas.entry(weight).or_default() -= *kg;
        }
    }

    /// Keeps an application under the order it arrived for, whatever its fate; its preNo is
    /// assigned with the batch's numbers.
    fn store_application(
        &mut self,
        work: &OrderWork,
        flow: Flow,
        invt_no: String,
        status: i32,
        incoming: Incoming,
    ) {
        self.writes.after_sales.push(AfterSaleRow {
            flow,
            key: work.key.clone(),
            invt_no,
            status,
            incoming,
            pre_no: String::new(),
        });
    }
}

/// The digest of the application just stored (the approved one, for later duplicates).
fn work_digest(after_sales: &[AfterSaleRow]) -> Vec<u8> {
    after_sales
        .last()
        .map(|row| row.incoming.digest.to_vec())
        .unwrap_or_default()
}

/// Only a party of the order's declaration, as stored when it was declared, may cancel or return
/// its inventory; the parties the application names count for nothing.
fn authorize(
    work: &OrderWork,
    kind: DocumentKind,
    incoming: &Incoming,
    invt_no: &str,
) -> Result<StoredDeclaration, Refusal> {
    let parties = work.declaration_parties();
    authorization::authorize_after_sale(kind, &incoming.sender_code, invt_no, parties.as_ref())?;
    Ok(work
        .declaration
        .clone()
        .expect("a party of a declaration implies the declaration"))
}

/// The lines as the domain's verdicts take them: line number, HS code, quantity.
fn lines_of(declaration: &StoredDeclaration) -> Vec<(u32, HsCode, Decimal)> {
    declaration
        .lines
        .iter()
        .filter_map(|l| Some((u32::try_from(l.gnum).ok()?, l.gcode.clone(), l.qty)))
        .collect()
}

fn declared_inventory<'a>(
    declaration: &'a StoredDeclaration,
    lines: &'a [(u32, HsCode, Decimal)],
) -> DeclaredInventory<'a> {
    DeclaredInventory {
        status: ReturnStatus::from_code(declaration.status).unwrap_or(ReturnStatus::Rejected),
        invt_no: declaration.invt_no.as_deref(),
        released_on: declaration.released_at.map(local_date),
        exited: declaration.exited_at.is_some(),
        cancelled: declaration.cancelled,
        approved_cancellation: declaration.cancellation_digest.as_deref(),
        approved_refund: declaration.refund_digest.as_deref(),
        lines,
    }
}

/// The quota to credit back for returned lines, in proportion to their dutiable prices.
fn refund_credit(declaration: &StoredDeclaration, returned: &[(u32, Decimal)]) -> Decimal {
    let taxes: Vec<LineTax> = declaration.lines.iter().filter_map(line_tax).collect();
    quota_credit_for_refund(declaration.quota_amount, &taxes, returned)
        .min(declaration.quota_amount)
}

fn line_tax(line: &StoredLine) -> Option<LineTax> {
    Some(LineTax {
        gnum: u32::try_from(line.gnum).ok()?,
        item_record_no: line.item_record_no.clone(),
        gcode: HsCode::clone(&line.gcode),
        qty: line.qty,
        tax_price: line.tax_price,
        customs: line.customs,
        vat: line.vat,
        consumption: line.consumption,
        high_end: false,
    })
}

fn remaining(
    weights: &BTreeMap<TariffLine, Decimal>,
    credits: &BTreeMap<TariffLine, Decimal>,
) -> BTreeMap<TariffLine, Decimal> {
    weights
        .iter()
        .map(|(tariff, kg)| {
            let credit = credits.get(tariff).copied().unwrap_or_default();
            (tariff.clone(), *kg - credit)
        })
        .collect()
}
