//! Turns an order's lines, amounts and parties into its three raw CEB documents and their
//! envelopes, and spoils them for mismatch orders.

use bondgate_ceb::model as raw;
use chrono::DateTime;
use rand::RngExt;
use rust_decimal::Decimal;

use super::parties::{LOGISTICS_COMPANIES, PAYMENT_COMPANIES, Party, STOREFRONTS, Storefront};
use super::people::{Household, Person};
use super::{
    Amounts, BEIJING_OFFSET_MS, Envelope, ExpectedOutcome, GeneratedOrder, Generator, Line,
    MismatchKind, OrderMeta, PACKAGING_G, cny, to_fen,
};

/// Formats ms since the epoch as a CEB `YYYYMMDDhhmmss` Beijing time.
fn ceb_time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms + BEIJING_OFFSET_MS)
        .map(|at| at.naive_utc().format("%Y%m%d%H%M%S").to_string())
        .unwrap_or_default()
}

impl Generator {
    fn guid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
            .to_uppercase()
    }

    fn envelope(&mut self, sender: Party, at_ms: i64, source_format: &'static str) -> Envelope {
        let bytes: [u8; 10] = self.rng.random();
        let millis = u64::try_from(at_ms).unwrap_or(0);
        Envelope {
            document_id: uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
                .into_uuid()
                .to_string(),
            sender_code: sender.code.to_owned(),
            received_at_ms: at_ms,
            source_format,
        }
    }

    pub(super) fn build(
        &mut self,
        index: u64,
        buyer: u32,
        lines: &[Line],
        amounts: Amounts,
        expected: ExpectedOutcome,
    ) -> GeneratedOrder {
        let seed = self.config.seed;
        let front = STOREFRONTS[self.rng.random_range(0..STOREFRONTS.len())];
        let payer = PAYMENT_COMPANIES[self.rng.random_range(0..PAYMENT_COMPANIES.len())];
        let carrier = LOGISTICS_COMPANIES[self.rng.random_range(0..LOGISTICS_COMPANIES.len())];
        let home = self.household(buyer);
        let consignee = if self.rng.random_bool(0.7) {
            home.buyer.clone()
        } else {
            home.relative.clone()
        };
        let order_no = format!("{}{seed:016X}{index:010}", self.config.order_no_prefix);
        let ids = Ids {
            order_no,
            pay_transaction_id: format!("P{seed:016X}{index:010}"),
            logistics_no: format!("L{seed:016X}{index:010}"),
        };
        let at = self.clock_ms;
        let paid_at = at - self.rng.random_range(30_000..600_000);
        let payment_at = at + self.rng.random_range(0..3_000);
        let waybill_at = at + self.rng.random_range(1_000..60_000);
        let parties = Parties { front, payer };
        let order = self.order_doc(&ids, &parties, &home, &consignee, lines, amounts, at);
        let payment = self.payment_doc(&ids, &parties, &home.buyer, amounts, paid_at, payment_at);
        let waybill = self.waybill_doc(&ids, carrier, &order.head, lines, waybill_at);
        let envelopes = [
            self.envelope(front.platform, at, "CEB311Message"),
            self.envelope(payer, payment_at, "CEB411Message"),
            self.envelope(carrier, waybill_at, "CEB511Message"),
        ];
        let meta = OrderMeta {
            key: format!("{}/{}", front.platform.code, ids.order_no),
            expected,
            buyer,
            limit_amount_cny: cny(amounts.limit_amount),
            lines: u32::try_from(lines.len()).expect("at most 99 lines"),
        };
        GeneratedOrder {
            meta,
            order,
            payment,
            waybill,
            envelopes,
        }
    }
}

/// The unique numbers of one order.
struct Ids {
    order_no: String,
    pay_transaction_id: String,
    logistics_no: String,
}

/// The platform, seller and payment company of one order.
struct Parties {
    front: Storefront,
    payer: Party,
}

impl Generator {
    #[allow(clippy::too_many_arguments)] // One call site; a struct would only rename them.
    fn order_doc(
        &mut self,
        ids: &Ids,
        parties: &Parties,
        home: &Household,
        consignee: &Person,
        lines: &[Line],
        amounts: Amounts,
        at_ms: i64,
    ) -> raw::Order {
        let head = raw::OrderHead {
            guid: self.guid(),
            app_type: "1".to_owned(),
            app_time: ceb_time(at_ms),
            app_status: "2".to_owned(),
            order_type: "I".to_owned(),
            order_no: ids.order_no.clone(),
            ebp_code: parties.front.platform.code.to_owned(),
            ebp_name: parties.front.platform.name.to_owned(),
            ebc_code: parties.front.seller.code.to_owned(),
            ebc_name: parties.front.seller.name.to_owned(),
            goods_value: cny(amounts.goods).to_string(),
            freight: cny(amounts.freight).to_string(),
            discount: cny(amounts.discount).to_string(),
            tax_total: cny(amounts.tax).to_string(),
            actural_paid: cny(amounts.actural_paid).to_string(),
            currency: "142".to_owned(),
            buyer_reg_no: home.reg_no.clone(),
            buyer_name: home.buyer.name.clone(),
            buyer_telephone: home.buyer.telephone.clone(),
            buyer_id_type: "1".to_owned(),
            buyer_id_number: home.buyer.id_number.clone(),
            pay_code: Some(parties.payer.code.to_owned()),
            pay_name: Some(parties.payer.name.to_owned()),
            pay_transaction_id: Some(ids.pay_transaction_id.clone()),
            batch_numbers: None,
            consignee: consignee.name.clone(),
            consignee_telephone: consignee.telephone.clone(),
            consignee_address: home.address.clone(),
            consignee_district: Some(home.district.to_owned()),
            note: None,
        };
        let lists = lines
            .iter()
            .zip(1..)
            .map(|(line, gnum)| self.order_line(line, gnum))
            .collect();
        raw::Order { head, lists }
    }

    fn order_line(&self, line: &Line, gnum: u32) -> raw::OrderList {
        let book = &self.catalog.items()[line.item].book;
        raw::OrderList {
            gnum: gnum.to_string(),
            item_no: Some(book.item_no.clone()),
            item_name: book.gname.clone(),
            gmodel: book.gmodel.clone(),
            item_describe: None,
            bar_code: None,
            unit: book.unit.clone(),
            qty: line.qty.to_string(),
            price: cny(line.price_fen).to_string(),
            total_price: cny(line.total_fen()).to_string(),
            currency: "142".to_owned(),
            country: book.country.clone(),
            note: line.promotion.then(|| "双11促销价".to_owned()),
        }
    }

    fn payment_doc(
        &mut self,
        ids: &Ids,
        parties: &Parties,
        buyer: &Person,
        amounts: Amounts,
        paid_at_ms: i64,
        at_ms: i64,
    ) -> raw::PaymentHead {
        raw::PaymentHead {
            guid: self.guid(),
            app_type: "1".to_owned(),
            app_time: ceb_time(at_ms),
            app_status: "2".to_owned(),
            pay_code: parties.payer.code.to_owned(),
            pay_name: parties.payer.name.to_owned(),
            pay_transaction_id: ids.pay_transaction_id.clone(),
            order_no: ids.order_no.clone(),
            ebp_code: parties.front.platform.code.to_owned(),
            ebp_name: parties.front.platform.name.to_owned(),
            payer_id_type: "1".to_owned(),
            payer_id_number: buyer.id_number.clone(),
            payer_name: buyer.name.clone(),
            telephone: Some(buyer.telephone.clone()),
            amount_paid: cny(amounts.actural_paid).to_string(),
            currency: "142".to_owned(),
            pay_time: ceb_time(paid_at_ms),
            note: None,
        }
    }

    fn waybill_doc(
        &mut self,
        ids: &Ids,
        carrier: Party,
        order: &raw::OrderHead,
        lines: &[Line],
        at_ms: i64,
    ) -> raw::LogisticsHead {
        let grams: i64 = PACKAGING_G
            + lines
                .iter()
                .map(|l| self.catalog.items()[l.item].gross_g_per_unit * i64::from(l.qty))
                .sum::<i64>();
        raw::LogisticsHead {
            guid: self.guid(),
            app_type: "1".to_owned(),
            app_time: ceb_time(at_ms),
            app_status: "2".to_owned(),
            logistics_code: carrier.code.to_owned(),
            logistics_name: carrier.name.to_owned(),
            logistics_no: ids.logistics_no.clone(),
            bill_no: None,
            order_no: ids.order_no.clone(),
            freight: Some(order.freight.clone()),
            insured_fee: Some("0".to_owned()),
            currency: "142".to_owned(),
            weight: Decimal::new(grams, 3).to_string(),
            pack_no: "1".to_owned(),
            goods_info: None,
            consignee: order.consignee.clone(),
            consignee_address: order.consignee_address.clone(),
            consignee_telephone: order.consignee_telephone.clone(),
            note: None,
        }
    }

    /// Makes the documents of `order` disagree as `kind` says.
    pub(super) fn mismatch(&mut self, order: &mut GeneratedOrder, kind: MismatchKind, buyer: u32) {
        match kind {
            MismatchKind::AmountPaid => {
                // The payment left out the coupon, or the platform forgot the freight.
                let paid = to_fen(order.order.head.actural_paid.parse().unwrap_or_default());
                let delta = if self.rng.random_bool(0.5) {
                    1_000
                } else {
                    -100
                };
                order.payment.amount_paid = cny((paid + delta).max(1)).to_string();
                if order.payment.amount_paid == order.order.head.actural_paid {
                    order.payment.amount_paid = cny(paid + 1_000).to_string();
                }
            }
            MismatchKind::Payer => {
                let relative = self.household(buyer).relative;
                order.payment.payer_name = relative.name;
                order.payment.payer_id_number = relative.id_number;
                order.payment.telephone = Some(relative.telephone);
            }
            MismatchKind::Consignee => {
                if self.rng.random_bool(0.5) {
                    order.waybill.consignee_address.push_str("（驿站代收）");
                } else {
                    let phone = &mut order.waybill.consignee_telephone;
                    let last = phone.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                    phone.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
                }
            }
        }
    }
}
