//! Generated order/payment/waybill bundles over the fixture account book (`account_book.csv`):
//! twelve scenarios taken in turn, each with seeded random SKUs, quantities, prices, freight,
//! insurance, discounts and withheld tax, so that some bundles are released, some held and some
//! rejected, for reasons the scenario names. Every bundle has its own buyer, so no bundle's
//! annual quota depends on another's.

use serde_json::{Value, json};

use crate::stack::{EBC, EBP, LOG, PAY};

/// One SKU of the fixture account book, as an order line names it.
#[derive(Debug, Clone, Copy)]
struct Sku {
    item_no: &'static str,
    name: &'static str,
    unit: &'static str,
    country: &'static str,
}

const fn sku(
    item_no: &'static str,
    name: &'static str,
    unit: &'static str,
    country: &'static str,
) -> Sku {
    Sku {
        item_no,
        name,
        unit,
        country,
    }
}

const TEA: Sku = sku("BG-TEA-250G", "龙井绿茶", "122", "142");
const SHAMPOO: Sku = sku("BG-SHAMPOO-400", "控油洗发香波", "142", "116");
const ESSENCE: Sku = sku("BG-ESSENCE-30ML", "焕颜精华液", "142", "305");
const MASK: Sku = sku("BG-MASK-5P", "保湿面膜", "140", "133");
const WHISKY: Sku = sku("BG-WHISKY-700", "单一麦芽威士忌", "142", "303");
const HONEY: Sku = sku("BG-HONEY-1KG", "麦卢卡蜂蜜", "142", "609");
const WATCH: Sku = sku("BG-WATCH-01", "机械腕表", "011", "331");
const MEDICINE: Sku = sku("BG-COLD-MED", "感冒冲剂", "140", "116");
const SHOES: Sku = sku("BG-SHOES-42", "真皮休闲鞋", "021", "307");
const BLENDER: Sku = sku("BG-BLENDER-01", "家用料理机", "011", "116");
/// Capped at 2 kg per person and year on the fixture positive list.
const COFFEE: Sku = sku("BG-COFFEE-1KG", "焙炒咖啡豆", "122", "116");
/// Not in the account book.
const GHOST: Sku = sku("BG-GHOST-01", "未备案商品", "011", "116");

/// SKUs that clear without a scenario's help.
const EVERYDAY: [Sku; 6] = [TEA, SHAMPOO, ESSENCE, MASK, WHISKY, HONEY];

/// Every SKU the account book has (the test checks none is in the SAMPLE seed).
pub const FIXTURE_SKUS: [&str; 11] = [
    TEA.item_no,
    SHAMPOO.item_no,
    ESSENCE.item_no,
    MASK.item_no,
    WHISKY.item_no,
    HONEY.item_no,
    WATCH.item_no,
    MEDICINE.item_no,
    SHOES.item_no,
    BLENDER.item_no,
    COFFEE.item_no,
];

/// The SKUs tests may pick by item number.
const PICKABLE: [Sku; 3] = [TEA, HONEY, COFFEE];

/// How many scenarios there are; bundle `i` is scenario `i % SCENARIOS`.
pub const SCENARIOS: usize = 12;

/// A small deterministic generator (SplitMix64): the same bundles on every run.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low + 1).expect("low <= high");
        low + i64::try_from(self.next() % span).expect("span fits")
    }

    fn chance(&mut self, percent: i64) -> bool {
        self.between(1, 100) <= percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        let last = i64::try_from(items.len()).expect("few items") - 1;
        items[usize::try_from(self.between(0, last)).expect("an index")]
    }
}

/// One order line: a SKU, a quantity and a unit price in fen.
#[derive(Debug, Clone)]
struct Line {
    sku: Sku,
    qty: i64,
    price_fen: i64,
    /// `itemName` when it should not be the account book's.
    name: Option<&'static str>,
}

impl Line {
    fn new(sku: Sku, qty: i64, price_fen: i64) -> Self {
        Self {
            sku,
            qty,
            price_fen,
            name: None,
        }
    }
}

/// Everything a bundle varies besides its lines (amounts in fen).
#[derive(Debug, Clone, Default)]
struct Money {
    freight_fen: i64,
    /// The waybill's freight above the order's (the dutiable value takes the larger).
    waybill_extra_freight_fen: i64,
    insured_fen: i64,
    discount_fen: i64,
    tax_total_fen: i64,
}

/// Who pays, and whether the platform vouched for the buyer.
#[derive(Debug, Clone, Copy, Default)]
struct Payer {
    other: bool,
    verified: bool,
}

/// A generated bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Its order number.
    pub order_no: String,
    /// The scenario it was generated for.
    pub scenario: &'static str,
    /// Order, payment and waybill, each as `POST /v1/documents` takes it.
    pub documents: [Value; 3],
}

/// Bundle number `index` of the run.
pub fn generate(index: usize, rng: &mut Rng) -> Bundle {
    let (scenario, lines, payer) = scenario(index % SCENARIOS, rng);
    let mut money = Money {
        freight_fen: rng.between(0, 3_000),
        ..Money::default()
    };
    // A withheld tax that is rarely exactly ours: the tax-total hold has its turn too.
    if rng.chance(25) {
        money.tax_total_fen = rng.between(100, 20_000);
    }
    if scenario == "freight, insurance and discount" {
        money.waybill_extra_freight_fen = rng.between(100, 2_000);
        money.insured_fen = rng.between(100, 1_500);
        money.discount_fen = rng.between(100, 1_000);
    }
    let order_no = format!("CONS-{index:04}");
    let buyer = buyer(index);
    Bundle {
        documents: documents(&order_no, &lines, &money, &buyer, payer),
        order_no,
        scenario,
    }
}

/// One line of `qty` × `item_no` at `price_fen` a unit, bought and paid by buyer `buyer_index`
/// (the same index, the same person), with 10 CNY freight.
pub fn one_line(
    order_no: &str,
    buyer_index: usize,
    item_no: &str,
    qty: i64,
    price_fen: i64,
) -> Bundle {
    let sku = *PICKABLE
        .iter()
        .find(|sku| sku.item_no == item_no)
        .expect("a pickable fixture SKU");
    let money = Money {
        freight_fen: 1_000,
        ..Money::default()
    };
    let lines = [Line::new(sku, qty, price_fen)];
    Bundle {
        documents: documents(
            order_no,
            &lines,
            &money,
            &buyer(buyer_index),
            Payer::default(),
        ),
        order_no: order_no.to_owned(),
        scenario: "one line",
    }
}

fn scenario(which: usize, rng: &mut Rng) -> (&'static str, Vec<Line>, Payer) {
    let everyday = |rng: &mut Rng| {
        let sku = rng.pick(&EVERYDAY);
        Line::new(sku, rng.between(1, 4), rng.between(2_000, 60_000))
    };
    let mut payer = Payer::default();
    let (name, lines) = match which {
        0 => (
            "everyday",
            (0..rng.between(1, 3)).map(|_| everyday(rng)).collect(),
        ),
        1 => (
            "near the limit",
            vec![Line::new(WHISKY, 2, rng.between(150_000, 240_000))],
        ),
        2 => (
            "over the limit",
            vec![
                Line::new(WHISKY, 2, rng.between(200_000, 240_000)),
                Line::new(ESSENCE, 2, rng.between(60_000, 90_000)),
            ],
        ),
        3 => (
            "one dear item",
            vec![Line::new(WATCH, 1, rng.between(520_000, 900_000))],
        ),
        4 => (
            "many of one",
            vec![Line::new(
                TEA,
                rng.between(5, 12),
                rng.between(3_000, 9_000),
            )],
        ),
        5 => (
            "medicine",
            vec![Line::new(
                MEDICINE,
                rng.between(1, 3),
                rng.between(3_000, 12_000),
            )],
        ),
        6 => (
            "unknown SKU",
            vec![
                everyday(rng),
                Line::new(GHOST, 1, rng.between(1_000, 9_000)),
            ],
        ),
        7 => (
            "not on the positive list",
            vec![Line::new(SHOES, 1, rng.between(30_000, 90_000))],
        ),
        8 => {
            payer = Payer {
                other: true,
                verified: rng.chance(50),
            };
            ("someone else pays", vec![everyday(rng)])
        }
        9 => {
            let mut line = Line::new(BLENDER, 1, rng.between(30_000, 150_000));
            line.name = rng.chance(50).then_some("厨房小电器");
            ("a name the list restricts", vec![line])
        }
        10 => (
            "too much honey",
            vec![Line::new(
                HONEY,
                rng.between(15, 25),
                rng.between(8_000, 15_000),
            )],
        ),
        _ => (
            "freight, insurance and discount",
            vec![everyday(rng), everyday(rng)],
        ),
    };
    (name, lines, payer)
}

/// A buyer of its own: name and ID number derived from the bundle's number.
pub fn buyer(index: usize) -> (String, String) {
    (format!("买家{index}"), format!("5001011990{index:07}X"))
}

/// CNY of fen, as CEB writes amounts.
fn cny(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

fn documents(
    order_no: &str,
    lines: &[Line],
    money: &Money,
    buyer: &(String, String),
    payer: Payer,
) -> [Value; 3] {
    let goods_fen: i64 = lines.iter().map(|l| l.qty * l.price_fen).sum();
    let paid_fen = goods_fen + money.freight_fen + money.tax_total_fen - money.discount_fen;
    let (payer_name, payer_id) = if payer.other {
        ("代付人".to_owned(), "500101198001010010".to_owned())
    } else {
        buyer.clone()
    };
    let mut order = order(order_no, lines, money, goods_fen, paid_fen, buyer);
    order["buyerIdentityVerified"] = json!(payer.verified);
    [
        order,
        json!({
            "type": "payment", "guid": guid(order_no, 'P'), "appType": "1",
            "appTime": now_ceb(), "appStatus": "2", "payCode": PAY, "payName": "示例支付",
            "payTransactionId": format!("TX-{order_no}"), "orderNo": order_no,
            "ebpCode": EBP, "ebpName": "示例平台", "payerIdType": "1",
            "payerIdNumber": payer_id, "payerName": payer_name,
            "amountPaid": cny(paid_fen), "currency": "142", "payTime": now_ceb()
        }),
        json!({
            "type": "waybill", "ebpCode": EBP, "guid": guid(order_no, 'W'), "appType": "1",
            "appTime": now_ceb(), "appStatus": "2", "logisticsCode": LOG,
            "logisticsName": "示例物流", "logisticsNo": format!("LN-{order_no}"),
            "orderNo": order_no,
            "freight": cny(money.freight_fen + money.waybill_extra_freight_fen),
            "insuredFee": cny(money.insured_fen), "currency": "142", "weight": "1.5",
            "packNo": "1", "consignee": buyer.0, "consigneeAddress": "重庆市渝北区两路街道9号",
            "consigneeTelephone": "13800000009"
        }),
    ]
}

fn order(
    order_no: &str,
    lines: &[Line],
    money: &Money,
    goods_fen: i64,
    paid_fen: i64,
    buyer: &(String, String),
) -> Value {
    let list: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            json!({
                "gnum": (index + 1).to_string(), "itemNo": line.sku.item_no,
                "itemName": line.name.unwrap_or(line.sku.name), "gmodel": line.sku.name,
                "unit": line.sku.unit, "qty": line.qty.to_string(),
                "price": cny(line.price_fen), "totalPrice": cny(line.qty * line.price_fen),
                "currency": "142", "country": line.sku.country
            })
        })
        .collect();
    json!({
        "type": "order",
        "orderHead": {
            "guid": guid(order_no, 'O'), "appType": "1", "appTime": now_ceb(),
            "appStatus": "2", "orderType": "I", "orderNo": order_no, "ebpCode": EBP,
            "ebpName": "示例平台", "ebcCode": EBC, "ebcName": "示例卖家",
            "goodsValue": cny(goods_fen), "freight": cny(money.freight_fen),
            "discount": cny(money.discount_fen), "taxTotal": cny(money.tax_total_fen),
            "acturalPaid": cny(paid_fen), "currency": "142", "buyerRegNo": format!("reg-{order_no}"),
            "buyerName": buyer.0, "buyerTelephone": "13800000009", "buyerIdType": "1",
            "buyerIdNumber": buyer.1, "payCode": PAY,
            "payTransactionId": format!("TX-{order_no}"), "consignee": buyer.0,
            "consigneeTelephone": "13800000009", "consigneeAddress": "重庆市渝北区两路街道9号"
        },
        "orderList": list
    })
}

/// A guid derived from the order number and the document's kind.
fn guid(order_no: &str, kind: char) -> String {
    let name = format!("consistency/{kind}/{order_no}");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes())
        .hyphenated()
        .to_string()
        .to_uppercase()
}

/// Beijing time now, as CEB `YYYYMMDDhhmmss`.
fn now_ceb() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S")
        .to_string()
}
