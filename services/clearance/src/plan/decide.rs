//! Decisions of the orders that became complete in the batch, in record order, against the
//! batch's running stock, quotas and yearly weights: the domain evaluates (matching, positive
//! list, limits, tax, risk), the domain allocates the stock, the domain writes the receipts.

use std::collections::BTreeMap;

use bondgate_domain::account_book::AccountBook;
use bondgate_domain::allocation::{Allocation, OrderRequest, StockKey, allocate_stock};
use bondgate_domain::codes;
use bondgate_domain::documents::OrderBundle;
use bondgate_domain::evaluate::{EvalContext, Evaluation, Outcome, evaluate};
use bondgate_domain::receipts;
use bondgate_domain::types::TariffLine;
use rust_decimal::Decimal;

use super::{Context, Movement, MovementKind, NewDeclaration, OrderWork, Planner, buyer_hash};
use crate::state::{Locked, QuotaKey, ToLock, WeightKey};

/// A complete order's joined documents, read once per batch.
#[derive(Debug)]
pub struct Complete {
    /// The documents.
    pub bundle: OrderBundle,
    /// Its platform vouched for the buyer's identity.
    pub identity_vouched: bool,
}

/// The complete orders of the batch, one slot per work (in order).
pub fn complete_orders(works: &[OrderWork]) -> Vec<Option<Complete>> {
    works
        .iter()
        .map(|work| {
            work.bundle().map(|(bundle, identity_vouched)| Complete {
                bundle,
                identity_vouched,
            })
        })
        .collect()
}

/// The quota row of a buyer in the batch's year.
pub fn quota_key(bundle: &OrderBundle, ctx: &Context<'_>) -> QuotaKey {
    let hash = buyer_hash(ctx.buyer_hash_key, &bundle.order.buyer.id_number);
    (hash, ctx.quota_year())
}

/// The capped tariff lines an order's lines fall under.
fn capped_lines(bundle: &OrderBundle, ctx: &Context<'_>) -> Vec<TariffLine> {
    let reference = ctx.reference;
    bundle
        .order
        .lines
        .iter()
        .filter_map(|line| reference.account_book.by_sku(line.item_no.as_deref()?))
        .map(|item| item.gcode.tariff_line())
        .filter(|tariff| {
            let entry = reference.positive_list.get(tariff);
            entry.is_some_and(|e| e.weight_cap_kg_per_year.is_some())
        })
        .collect()
}

/// The stock, quota and weight rows the complete orders and the after-sales of the batch touch.
pub fn rows_to_lock(
    works: &[OrderWork],
    complete: &[Option<Complete>],
    ctx: &Context<'_>,
) -> ToLock {
    let mut rows = ToLock::default();
    for Complete { bundle, .. } in complete.iter().flatten() {
        for line in &bundle.order.lines {
            let item = line
                .item_no
                .as_deref()
                .and_then(|sku| ctx.reference.account_book.by_sku(sku));
            if let Some(item) = item {
                rows.items
                    .insert(StockKey::new(&item.ems_no, &item.item_record_no));
            }
        }
        let (hash, year) = quota_key(bundle, ctx);
        for tariff in capped_lines(bundle, ctx) {
            rows.weights.insert((hash.clone(), year, tariff));
        }
        rows.buyers.insert((hash, year));
    }
    for work in works.iter().filter(|w| !w.after_sales().is_empty()) {
        let Some(declaration) = work.declaration() else {
            continue;
        };
        let (hash, year) = (declaration.buyer_hash.clone(), declaration.quota_year);
        for tariff in declaration.weights.keys() {
            rows.weights.insert((hash.clone(), year, tariff.clone()));
        }
        rows.buyers.insert((hash, year));
        for line in &declaration.lines {
            rows.items
                .insert(StockKey::new(&line.ems_no, &line.item_record_no));
        }
    }
    rows
}

impl Planner {
    /// Decides every complete order, in record order.
    pub fn decide_all(
        &mut self,
        works: &mut [OrderWork],
        complete: Vec<Option<Complete>>,
        ctx: &Context<'_>,
        locked: &mut Locked,
    ) {
        for (work, complete) in works.iter_mut().zip(complete) {
            if let Some(complete) = complete {
                self.decide(work, complete, ctx, locked);
            }
        }
    }

    /// Decides one complete order against the running stock, quota and weights of the batch.
    fn decide(
        &mut self,
        work: &mut OrderWork,
        complete: Complete,
        ctx: &Context<'_>,
        locked: &mut Locked,
    ) {
        let Complete {
            bundle,
            identity_vouched,
        } = complete;
        let quota = quota_key(&bundle, ctx);
        let used = locked.quotas.get(&quota).copied().unwrap_or_default();
        let weights_used = buyer_weights(&locked.weights, &quota);
        let context = EvalContext {
            account_book: &ctx.reference.account_book,
            positive_list: &ctx.reference.positive_list,
            config: ctx.rules,
            buyer_annual_used_cny: used,
            weight_used_kg: &weights_used,
            buyer_identity_verified: identity_vouched,
        };
        let mut evaluation = evaluate(&bundle, &context);
        let line_items = line_items(&bundle, &evaluation, &ctx.reference.account_book);
        if !matches!(evaluation.outcome, Outcome::Reject { .. }) {
            reserve(locked, &line_items, &mut evaluation);
        }
        self.record_decision(work, bundle, evaluation, line_items, quota, locked);
    }

    fn record_decision(
        &mut self,
        work: &mut OrderWork,
        bundle: OrderBundle,
        evaluation: Evaluation,
        line_items: Vec<(u32, String, String, Decimal)>,
        quota: QuotaKey,
        locked: &mut Locked,
    ) {
        let steps = receipts::declaration(
            bundle.order.ebc_code.as_str(),
            bundle.order.key.order_no.as_str(),
            &evaluation.outcome,
        );
        let status = steps.last().map_or(100, |receipt| receipt.status.code());
        let summary = evaluation.outcome.summary();
        let accepted = !matches!(evaluation.outcome, Outcome::Reject { .. });
        let mut weights = BTreeMap::new();
        if accepted {
            self.take_quota(&quota, evaluation.quota_amount, locked);
            weights = evaluation.weight_kg.clone();
            self.take_weights(&quota, &weights, locked);
            self.stock_movements(work, &line_items, &evaluation, status == 800);
        }
        for receipt in steps {
            self.receipt(work, receipt);
        }
        if status == 300 {
            let reasons = summary.reasons.clone();
            self.writes.review_tasks.push((work.key.clone(), reasons));
        }
        let ebc = bundle.order.ebc_code.to_string();
        self.writes.declarations.push(NewDeclaration {
            key: work.key.clone(),
            bundle: Box::new(bundle),
            agent_code: ebc,
            status,
            buyer_hash: quota.0,
            quota_year: quota.1,
            evaluation,
            weights,
            codes: summary.codes,
            reasons: summary.reasons,
            line_items: if accepted { line_items } else { Vec::new() },
            receipt_seq: work.receipt_seq,
            accepted,
            numbers: None,
            ceb621: None,
        });
    }

    fn take_quota(&mut self, quota: &QuotaKey, amount: Decimal, locked: &mut Locked) {
        *locked.quotas.entry(quota.clone()).or_default() += amount;
        *self.writes.quota_deltas.entry(quota.clone()).or_default() += amount;
    }

    fn take_weights(
        &mut self,
        quota: &QuotaKey,
        weights: &BTreeMap<TariffLine, Decimal>,
        locked: &mut Locked,
    ) {
        for (tariff, kg) in weights {
            let key: WeightKey = (quota.0.clone(), quota.1, tariff.clone());
            *locked.weights.entry(key.clone()).or_default() += *kg;
            *self.writes.weight_deltas.entry(key).or_default() += *kg;
        }
    }

    fn stock_movements(
        &mut self,
        work: &OrderWork,
        line_items: &[(u32, String, String, Decimal)],
        evaluation: &Evaluation,
        released: bool,
    ) {
        for (line, (_, ems_no, item_record_no, _)) in evaluation.lines.iter().zip(line_items) {
            let (kind, on_hand_delta, reserved_delta) = if released {
                (MovementKind::ReserveAndDeduct, -line.qty, Decimal::ZERO)
            } else {
                (MovementKind::Reserve, Decimal::ZERO, line.qty)
            };
            self.writes.movements.push(Movement {
                item: StockKey::new(ems_no.clone(), item_record_no.clone()),
                kind,
                on_hand_delta,
                reserved_delta,
                declaration: work.key.clone(),
            });
        }
    }
}

/// What `buyer` has used of each capped tariff line this year.
fn buyer_weights(
    weights: &std::collections::HashMap<WeightKey, Decimal>,
    quota: &QuotaKey,
) -> BTreeMap<TariffLine, Decimal> {
    weights
        .iter()
        .filter(|((hash, year, _), _)| *hash == quota.0 && *year == quota.1)
        .map(|((_, _, tariff), kg)| (tariff.clone(), *kg))
        .collect()
}

/// Reserves the order's stock against the running balances through the domain's allocation (all
/// lines or none); a shortfall turns the decision into a rejection (`-900301`).
fn reserve(
    locked: &mut Locked,
    line_items: &[(u32, String, String, Decimal)],
    evaluation: &mut Evaluation,
) {
    let lines = evaluation
        .lines
        .iter()
        .zip(line_items)
        .map(|(line, (_, ems_no, item_record_no, _))| {
            (StockKey::new(ems_no, item_record_no), line.qty)
        })
        .collect();
    let request = OrderRequest {
        buyer: String::new(),
        quota_amount: Decimal::ZERO,
        lines,
    };
    if let [Allocation::Rejected { code, reason }] =
        allocate_stock(&mut locked.stock, &[request]).as_slice()
    {
        debug_assert_eq!(*code, codes::INSUFFICIENT_STOCK);
        evaluation.outcome = Outcome::Reject {
            codes: vec![*code],
            reasons: vec![reason.clone()],
        };
        evaluation.quota_amount = Decimal::ZERO;
        evaluation.weight_kg.clear();
    }
}

/// For each evaluated line: gnum, ems_no, item_record_no and the order line's total price.
fn line_items(
    bundle: &OrderBundle,
    evaluation: &Evaluation,
    book: &AccountBook,
) -> Vec<(u32, String, String, Decimal)> {
    evaluation
        .lines
        .iter()
        .filter_map(|line| {
            let order_line = bundle.order.lines.iter().find(|l| l.gnum == line.gnum)?;
            let item = order_line
                .item_no
                .as_deref()
                .and_then(|sku| book.by_sku(sku))?;
            Some((
                line.gnum,
                item.ems_no.clone(),
                line.item_record_no.clone(),
                order_line.total_price.value(),
            ))
        })
        .collect()
}
