//! Storing a planned batch in the test world as `persist::write` stores it in the database, in
//! the same order, with the checks the database makes on every batch: a receipt's
//! `(order, sequence)` is unique (`receipts_order_sequence`), and stock never goes negative nor
//! below what is reserved.

use std::collections::BTreeMap;

use bondgate_domain::receipts::Flow;
use rust_decimal::Decimal;

use super::fixture::World;
use crate::decode::reparse;
use crate::plan::{DocRow, NewDeclaration, Writes};
use crate::state::{OrderKey, StoredDeclaration, StoredDoc, StoredLine};

/// A stored document as `state::load_orders` reads it back: opened and parsed again.
fn stored_doc(row: &DocRow) -> StoredDoc {
    StoredDoc {
        digest: row.incoming.digest.to_vec(),
        business_key: row.business_key.clone(),
        sender_code: row.incoming.sender_code.clone(),
        parsed: Some(reparse(&row.incoming.payload).expect("a stored document parses")),
    }
}

/// A declaration row with its lines, as `insert_declarations` and `insert_lines` store it.
fn stored_declaration(id: i64, d: &NewDeclaration, world: &World) -> StoredDeclaration {
    let numbers = d.numbers.as_ref().expect("numbered before storing");
    let accepted = |value: Decimal| if d.accepted { value } else { Decimal::ZERO };
    let lines = d
        .evaluation
        .lines
        .iter()
        .zip(&d.line_items)
        .map(|(tax, (gnum, ems_no, item_record_no, _))| StoredLine {
            gnum: i16::try_from(*gnum).unwrap(),
            ems_no: ems_no.clone(),
            item_record_no: item_record_no.clone(),
            gcode: tax.gcode.clone(),
            qty: tax.qty,
            tax_price: tax.tax_price,
            customs: tax.customs,
            vat: tax.vat,
            consumption: tax.consumption,
        })
        .collect();
    StoredDeclaration {
        id,
        status: d.status,
        receipt_seq: d.receipt_seq,
        invt_no: numbers.invt_no.clone(),
        ebc_code: d.bundle.order.ebc_code.to_string(),
        agent_code: d.agent_code.clone(),
        logistics: (
            d.bundle.waybill.logistics_code.to_string(),
            d.bundle.waybill.logistics_no.clone(),
        ),
        buyer_hash: d.buyer_hash.clone(),
        quota_year: d.quota_year,
        quota_amount: accepted(d.evaluation.quota_amount),
        weights: d.weights.clone(),
        released_at: (d.status == 800).then_some(world.now),
        exited_at: None,
        cancelled: false,
        refunded: false,
        cancellation_digest: None,
        refund_digest: None,
        lines,
    }
}

impl World {
    /// Stores a planned batch.
    pub fn commit(&mut self, writes: &Writes) {
        self.store_documents(writes);
        self.store_declarations(writes);
        self.store_after_sales(writes);
        self.store_balances(writes);
        self.store_receipts(writes);
        self.store_pending(writes);
        self.next_number += i64::try_from(writes.declarations.len() + writes.after_sales.len())
            .expect("a small batch");
    }

    fn store_documents(&mut self, writes: &Writes) {
        for key in &writes.deleted_orders {
            self.orders.entry(key.clone()).or_default().order = None;
        }
        for key in &writes.deleted_payments {
            if let Some(owner) = self.payment_owners.remove(key) {
                self.orders.entry(owner).or_default().payment = None;
            }
        }
        for key in &writes.deleted_waybills {
            if let Some(owner) = self.waybill_owners.remove(key) {
                self.orders.entry(owner).or_default().waybill = None;
            }
        }
        for row in &writes.orders {
            self.orders.entry(row.key.clone()).or_default().order = Some(stored_doc(row));
        }
        for row in &writes.payments {
            if let Some(business_key) = &row.business_key {
                self.payment_owners
                    .insert(business_key.clone(), row.key.clone());
            }
            self.orders.entry(row.key.clone()).or_default().payment = Some(stored_doc(row));
        }
        for row in &writes.waybills {
            if let Some(business_key) = &row.business_key {
                self.waybill_owners
                    .insert(business_key.clone(), row.key.clone());
            }
            self.orders.entry(row.key.clone()).or_default().waybill = Some(stored_doc(row));
        }
    }

    fn store_declarations(&mut self, writes: &Writes) {
        for declaration in &writes.declarations {
            let stored = stored_declaration(self.next_id, declaration, self);
            self.next_id += 1;
            let order = self.orders.entry(declaration.key.clone()).or_default();
            assert!(order.declaration.is_none(), "one declaration per order");
            order.declaration = Some(stored);
        }
        for update in &writes.declaration_updates {
            let declaration = self.declaration_by_id(update.id);
            declaration.quota_amount = update.quota_amount;
            declaration.weights.clone_from(&update.weights);
            declaration.cancelled |= update.cancelled;
            declaration.refunded |= update.refunded;
        }
        let mut latest: BTreeMap<&OrderKey, i32> = BTreeMap::new();
        for receipt in &writes.receipts {
            let seq = latest.entry(&receipt.key).or_default();
            *seq = (*seq).max(receipt.sequence);
        }
        for (key, seq) in latest {
            let declaration = self
                .orders
                .get_mut(key)
                .and_then(|o| o.declaration.as_mut());
            if let Some(declaration) = declaration {
                declaration.receipt_seq = declaration.receipt_seq.max(seq);
            }
        }
    }

    fn declaration_by_id(&mut self, id: i64) -> &mut StoredDeclaration {
        self.orders
            .values_mut()
            .filter_map(|order| order.declaration.as_mut())
            .find(|declaration| declaration.id == id)
            .expect("an update names a stored declaration")
    }

    /// Approved applications are what later duplicates are compared with; exits mark the
    /// declaration whose parcel left.
    fn store_after_sales(&mut self, writes: &Writes) {
        for row in writes.after_sales.iter().filter(|row| row.status == 399) {
            let declaration = self
                .orders
                .get_mut(&row.key)
                .and_then(|o| o.declaration.as_mut())
                .expect("an approved application has its declaration");
            let digest = Some(row.incoming.digest.to_vec());
            match row.flow {
                Flow::Refund => declaration.refund_digest = digest,
                _ => declaration.cancellation_digest = digest,
            }
        }
        let now = self.now;
        for id in writes.exits.iter().filter_map(|exit| exit.declaration_id) {
            self.declaration_by_id(id).exited_at.get_or_insert(now);
        }
    }

    fn store_balances(&mut self, writes: &Writes) {
        for movement in &writes.movements {
            let balance = self
                .stock
                .get_mut(&movement.item)
                .expect("a movement names an item of the account book");
            balance.on_hand += movement.on_hand_delta;
            balance.reserved += movement.reserved_delta;
            assert!(
                Decimal::ZERO <= balance.reserved && balance.reserved <= balance.on_hand,
                "stock of {:?} broken: {balance:?}",
                movement.item
            );
        }
        for (key, delta) in &writes.quota_deltas {
            *self.quotas.entry(key.clone()).or_default() += *delta;
        }
        for (key, delta) in &writes.weight_deltas {
            *self.weights.entry(key.clone()).or_default() += *delta;
        }
    }

    fn store_receipts(&mut self, writes: &Writes) {
        for receipt in &writes.receipts {
            let id = (receipt.key.clone(), receipt.sequence);
            assert!(
                self.receipts.insert(id),
                "receipt {} of {:?} written twice: receipts_order_sequence refuses the batch",
                receipt.sequence,
                receipt.key
            );
        }
    }

    fn store_pending(&mut self, writes: &Writes) {
        for (key, _, seq) in &writes.pending {
            let state = if writes.pending_idle.contains(key) {
                "idle"
            } else {
                "waiting"
            };
            let order = self.orders.entry(key.clone()).or_default();
            order.pending.get_or_insert((state.to_owned(), *seq));
        }
        for key in &writes.pending_woken {
            if let Some((state, _)) = self.orders.get_mut(key).and_then(|o| o.pending.as_mut()) {
                *state = "waiting".to_owned();
            }
        }
        for (key, seq) in &writes.pending_seq {
            if let Some((_, stored)) = self.orders.get_mut(key).and_then(|o| o.pending.as_mut()) {
                *stored = (*stored).max(*seq);
            }
        }
        for key in &writes.pending_done {
            if let Some(order) = self.orders.get_mut(key) {
                order.pending = None;
            }
        }
    }
}
