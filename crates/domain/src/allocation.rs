//! Pure allocation for the batch pipeline: bonded stock per account-book item and buyers' annual
//! quota, decided in record order for a whole batch. An order gets all it asks for or nothing
//! (no partial fits), and nothing ever goes negative or over the limit.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::Serialize;

use crate::codes::{self, ErrorCode};
use crate::tax::LineTax;

/// An account-book item: `(emsNo, itemRecordNo)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StockKey {
    /// Account book number.
    pub ems_no: String,
    /// Item record number.
    pub item_record_no: String,
}

impl StockKey {
    /// Builds a key.
    pub fn new(ems_no: impl Into<String>, item_record_no: impl Into<String>) -> Self {
        Self {
            ems_no: ems_no.into(),
            item_record_no: item_record_no.into(),
        }
    }
}

/// Stock of one item: what is in the zone and what open declarations have reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct StockBalance {
    /// Units in the zone warehouse.
    pub on_hand: Decimal,
    /// Units reserved by declarations not yet released or cancelled.
    pub reserved: Decimal,
}

/// A stock operation that would break `0 <= reserved <= on_hand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "stock operation of {qty} would leave on_hand {on_hand} / reserved {reserved} inconsistent"
)]
pub struct StockError {
    /// Quantity of the operation.
    pub qty: Decimal,
    /// On hand before.
    pub on_hand: Decimal,
    /// Reserved before.
    pub reserved: Decimal,
}

impl StockBalance {
    /// Units free to reserve: `on_hand − reserved`.
    pub fn available(&self) -> Decimal {
        self.on_hand - self.reserved
    }

    fn error(&self, qty: Decimal) -> StockError {
        StockError {
            qty,
            on_hand: self.on_hand,
            reserved: self.reserved,
        }
    }

    /// Reserves `qty` units if available.
    pub fn reserve(&mut self, qty: Decimal) -> Result<(), StockError> {
        if qty.is_sign_negative() || qty > self.available() {
            return Err(self.error(qty));
        }
        self.reserved += qty;
        Ok(())
    }

    /// Releases a reservation (rejection, cancellation before release).
    pub fn unreserve(&mut self, qty: Decimal) -> Result<(), StockError> {
        if qty.is_sign_negative() || qty > self.reserved {
            return Err(self.error(qty));
        }
        self.reserved -= qty;
        Ok(())
    }

    /// Deducts reserved units on release (800, 二线出区核减).
    pub fn deduct(&mut self, qty: Decimal) -> Result<(), StockError> {
        if qty.is_sign_negative() || qty > self.reserved {
            return Err(self.error(qty));
        }
        self.reserved -= qty;
        self.on_hand -= qty;
        Ok(())
    }

    /// Puts returned units back on hand (approved return, goods back in the zone).
    pub fn restore(&mut self, qty: Decimal) -> Result<(), StockError> {
        if qty.is_sign_negative() {
            return Err(self.error(qty));
        }
        self.on_hand += qty;
        Ok(())
    }
}

/// What one order asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRequest {
    /// Quota key of the buyer (the keyed hash of the ID number).
    pub buyer: String,
    /// Amount counted toward the buyer's year (0 takes no quota).
    pub quota_amount: Decimal,
    /// Units per account-book item; an item may appear on several lines.
    pub lines: Vec<(StockKey, Decimal)>,
}

impl OrderRequest {
    /// The request of an evaluated order whose lines all come from account book `ems_no`.
    pub fn from_lines(
        buyer: impl Into<String>,
        quota_amount: Decimal,
        ems_no: &str,
        lines: &[LineTax],
    ) -> Self {
        let lines = lines
            .iter()
            .map(|line| (StockKey::new(ems_no, line.item_record_no.clone()), line.qty))
            .collect();
        Self {
            buyer: buyer.into(),
            quota_amount,
            lines,
        }
    }

    /// Units per item, summed over the lines.
    fn needs(&self) -> BTreeMap<&StockKey, Decimal> {
        let mut needs = BTreeMap::new();
        for (key, qty) in &self.lines {
            *needs.entry(key).or_insert(Decimal::ZERO) += *qty;
        }
        needs
    }
}

/// The allocation decision for one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Allocation {
    /// Stock reserved and quota taken.
    Accepted,
    /// Nothing reserved or taken.
    Rejected {
        /// `-900301` (stock) or `-621018` (annual quota).
        code: ErrorCode,
        /// Explanation.
        reason: String,
    },
}

/// Checks that the order's stock fits; on failure says which item lacks stock.
fn stock_shortfall(
    stock: &BTreeMap<StockKey, StockBalance>,
    request: &OrderRequest,
) -> Option<Allocation> {
    for (key, qty) in request.needs() {
        let available = stock
            .get(key)
            .map_or(Decimal::ZERO, StockBalance::available);
        if qty > available {
            return Some(Allocation::Rejected {
                code: codes::INSUFFICIENT_STOCK,
                reason: format!(
                    "账册[{}]料号[{}]库存不足：需要[{qty}]，可用[{available}]",
                    key.ems_no, key.item_record_no
                ),
            });
        }
    }
    None
}

fn quota_overrun(
    used: &HashMap<String, Decimal>,
    annual_max: Decimal,
    request: &OrderRequest,
) -> Option<Allocation> {
    let already = used.get(&request.buyer).copied().unwrap_or_default();
    (already + request.quota_amount > annual_max).then(|| Allocation::Rejected {
        code: codes::OVER_ANNUAL_LIMIT,
        reason: format!("购买人已用购买额度为[{already}]，本次购买将超过年度限额[{annual_max}]"),
    })
}

fn reserve_all(stock: &mut BTreeMap<StockKey, StockBalance>, request: &OrderRequest) {
    for (key, qty) in request.needs() {
        let balance = stock.entry(key.clone()).or_default();
        // Checked by `stock_shortfall` just before; failing here is a bug, not an input error.
        assert!(balance.reserve(qty).is_ok(), "reservation checked before");
    }
}

/// Allocates stock and quota to a batch of orders in record order: an order is accepted only if
/// all its lines fit the available stock and its amount fits the buyer's remaining quota; then
/// both are taken. `used` maps buyer keys to the amount used this year.
pub fn allocate_batch(
    stock: &mut BTreeMap<StockKey, StockBalance>,
    used: &mut HashMap<String, Decimal>,
    annual_max: Decimal,
    requests: &[OrderRequest],
) -> Vec<Allocation> {
    let mut decisions = Vec::with_capacity(requests.len());
    for request in requests {
        let rejection =
            stock_shortfall(stock, request).or_else(|| quota_overrun(used, annual_max, request));
        if let Some(rejection) = rejection {
            decisions.push(rejection);
            continue;
        }
        reserve_all(stock, request);
        *used.entry(request.buyer.clone()).or_default() += request.quota_amount;
        decisions.push(Allocation::Accepted);
    }
    decisions
}

/// Allocates stock only (quota ignored).
pub fn allocate_stock(
    stock: &mut BTreeMap<StockKey, StockBalance>,
    requests: &[OrderRequest],
) -> Vec<Allocation> {
    requests
        .iter()
        .map(|request| match stock_shortfall(stock, request) {
            Some(rejection) => rejection,
            None => {
                reserve_all(stock, request);
                Allocation::Accepted
            }
        })
        .collect()
}

/// Allocates quota only (stock ignored).
pub fn allocate_quota(
    used: &mut HashMap<String, Decimal>,
    annual_max: Decimal,
    requests: &[OrderRequest],
) -> Vec<Allocation> {
    requests
        .iter()
        .map(|request| match quota_overrun(used, annual_max, request) {
            Some(rejection) => rejection,
            None => {
                *used.entry(request.buyer.clone()).or_default() += request.quota_amount;
                Allocation::Accepted
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn key(n: u8) -> StockKey {
        StockKey::new("T8001W000001", n.to_string())
    }

    fn request(buyer: &str, amount: Decimal, lines: &[(u8, Decimal)]) -> OrderRequest {
        OrderRequest {
            buyer: buyer.into(),
            quota_amount: amount,
            lines: lines.iter().map(|(n, qty)| (key(*n), *qty)).collect(),
        }
    }

    #[test]
    fn orders_fit_in_record_order_without_partial_fits() {
        let mut stock = BTreeMap::from([(
            key(1),
            StockBalance {
                on_hand: dec!(5),
                reserved: dec!(1),
            },
        )]);
        let mut used = HashMap::new();
        let requests = [
            request("a", dec!(10), &[(1, dec!(3))]),
            request("b", dec!(10), &[(1, dec!(1)), (1, dec!(1))]),
            request("c", dec!(10), &[(1, dec!(1))]),
        ];
        let decisions = allocate_batch(&mut stock, &mut used, dec!(26000), &requests);
        assert_eq!(decisions[0], Allocation::Accepted);
        let Allocation::Rejected { code, .. } = &decisions[1] else {
            panic!()
        };
        assert_eq!(*code, codes::INSUFFICIENT_STOCK);
        assert_eq!(decisions[2], Allocation::Accepted);
        assert_eq!(
            stock[&key(1)],
            StockBalance {
                on_hand: dec!(5),
                reserved: dec!(5)
            }
        );
        assert!(!used.contains_key("b"));
    }

    #[test]
    fn quota_is_checked_per_buyer_across_the_batch() {
        let mut used = HashMap::from([("a".to_owned(), dec!(20000))]);
        let requests = [
            request("a", dec!(5000), &[]),
            request("a", dec!(1000.01), &[]),
            request("a", dec!(1000), &[]),
        ];
        let decisions = allocate_quota(&mut used, dec!(26000), &requests);
        assert_eq!(decisions[0], Allocation::Accepted);
        let Allocation::Rejected { code, reason } = &decisions[1] else {
            panic!()
        };
        assert_eq!(
            (code.code, reason.as_str()),
            (
                -621018,
                "购买人已用购买额度为[25000]，本次购买将超过年度限额[26000]"
            )
        );
        assert_eq!(decisions[2], Allocation::Accepted);
        assert_eq!(used["a"], dec!(26000));
    }

    #[test]
    fn balance_operations_keep_the_invariant() {
        let mut balance = StockBalance {
            on_hand: dec!(2),
            reserved: dec!(0),
        };
        assert!(balance.reserve(dec!(3)).is_err());
        balance.reserve(dec!(2)).unwrap();
        balance.deduct(dec!(1)).unwrap();
        balance.unreserve(dec!(1)).unwrap();
        assert!(balance.unreserve(dec!(1)).is_err());
        balance.restore(dec!(1)).unwrap();
        assert_eq!(
            balance,
            StockBalance {
                on_hand: dec!(2),
                reserved: dec!(0)
            }
        );
    }

    fn requests() -> impl Strategy<Value = Vec<OrderRequest>> {
        let line = (0u8..4, 1i64..6).prop_map(|(n, qty)| (key(n), Decimal::from(qty)));
        let order = (
            0u8..3,
            0i64..1_000_000,
            proptest::collection::vec(line, 0..4),
        )
            .prop_map(|(buyer, cents, lines)| OrderRequest {
                buyer: buyer.to_string(),
                quota_amount: Decimal::new(cents, 2),
                lines,
            });
        proptest::collection::vec(order, 0..40)
    }

    proptest! {
        #[test]
        fn stock_never_negative_and_conserved(
            on_hand in proptest::collection::vec(0i64..20, 4), requests in requests(),
        ) {
            let mut stock: BTreeMap<StockKey, StockBalance> = on_hand.iter().enumerate()
                .map(|(n, qty)| (key(n as u8), StockBalance { on_hand: Decimal::from(*qty), reserved: Decimal::ZERO }))
                .collect();
            let before = stock.clone();
            let mut used = HashMap::new();
            let decisions = allocate_batch(&mut stock, &mut used, dec!(26000), &requests);
            let mut granted: BTreeMap<StockKey, Decimal> = BTreeMap::new();
            for (request, decision) in requests.iter().zip(&decisions) {
                if *decision == Allocation::Accepted {
                    for (key, qty) in &request.lines {
                        *granted.entry(key.clone()).or_default() += *qty;
                    }
                }
            }
            for (key, balance) in &stock {
                prop_assert!(balance.available() >= Decimal::ZERO && balance.reserved >= Decimal::ZERO);
                prop_assert_eq!(balance.on_hand, before[key].on_hand);
                let reserved = granted.get(key).copied().unwrap_or_default();
                prop_assert_eq!(balance.reserved, before[key].reserved + reserved);
            }
        }

        #[test]
        fn quota_never_exceeded(
            used_before in proptest::collection::vec(0i64..2_600_000, 3), requests in requests(),
        ) {
            let mut used: HashMap<String, Decimal> = used_before.iter().enumerate()
                .map(|(n, cents)| (n.to_string(), Decimal::new(*cents, 2))).collect();
            let before = used.clone();
            let decisions = allocate_quota(&mut used, dec!(26000), &requests);
            for (buyer, amount) in &used {
                prop_assert!(*amount <= dec!(26000));
                let accepted: Decimal = requests.iter().zip(&decisions)
                    .filter(|(r, d)| &r.buyer == buyer && **d == Allocation::Accepted)
                    .map(|(r, _)| r.quota_amount).sum();
                prop_assert_eq!(*amount, before.get(buyer).copied().unwrap_or_default() + accepted);
            }
        }
    }
}
