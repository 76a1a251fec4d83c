//! Whole CEB messages: the root element with its attributes around the business records.

use serde::{Deserialize, Serialize};

use crate::model::{
    BaseSubscribe, BaseTransfer, Delivery, DeliveryReturn, Inventory, InventoryReturn, InvtCancel,
    InvtCancelReturn, InvtRefund, InvtRefundReturn, LogisticsHead, LogisticsReturn,
    LogisticsStatus, LogisticsStatusReturn, MessageReturn, Order, OrderReturn, PaymentHead,
    PaymentReturn, Tax, TaxHeadStatus,
};

/// Limits applied while parsing; every one has its own error.
///
/// The reader checks the structural caps (`depth_max`, `elements_max`, `name_bytes_max`,
/// `attributes_max`, `text_bytes_max`) on each token as it streams in, before it keeps anything
/// of it, so the memory a parse takes is bounded by these numbers and not by the input's shape.
/// The defaults fit every legal message of `ceb_import_202205.xsd` with room to spare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted input, in bytes (before decoding).
    pub message_bytes_max: usize,
    /// Most business records per message (XSD: 100).
    pub records_max: usize,
    /// Most lines per order, inventory, return, delivery or tax bill (XSD: 99).
    pub lines_max: usize,
    /// Deepest element nesting, root = 1. Our messages need 6 (inside `ds:Signature`).
    pub depth_max: usize,
    /// Most elements in one message. The largest legal message is a CEB621 of 100 inventories
    /// of 99 lines with every field: 100 × (2 + 47 head fields + 99 × 21) = 212,800 elements
    /// (`Inventory`, `InventoryHead`, and per line `InventoryList` with 20 fields), plus 32 for
    /// the root, `BaseTransfer` and five `BaseSubscribe`, and about 15 for a signature. The
    /// default, 2^18 = 262,144, leaves a fifth as room.
    pub elements_max: usize,
    /// Longest element, attribute or entity-reference name, prefix included, in bytes. The
    /// longest the XSDs define is `ds:CanonicalizationMethod` (25).
    pub name_bytes_max: usize,
    /// Most attributes on one element, namespace declarations included. A CEB root carries at
    /// most seven (`guid`, `version`, `xmlns`, `xmlns:ceb`, `xmlns:ds`, `xmlns:xsi`,
    /// `xsi:schemaLocation`); the official samples three.
    pub attributes_max: usize,
    /// Most text in one message, element text and attribute values together, in bytes after
    /// decoding. Text is never longer than the decoded input; this bounds what GB18030 input
    /// (up to 1.5 times longer in UTF-8) can make of `message_bytes_max`.
    pub text_bytes_max: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            message_bytes_max: 10 * 1024 * 1024,
            records_max: 100,
            lines_max: 99,
            depth_max: 32,
            elements_max: 1 << 18,
            name_bytes_max: 64,
            attributes_max: 16,
            text_bytes_max: 10 * 1024 * 1024,
        }
    }
}

/// A message sent to customs (CEB311, 411, 511, 513, 621, 623, 625, 711).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Declaration<T> {
    /// Root `guid` attribute, as sent (may be lower case or not a UUID).
    pub guid: String,
    /// Root `version` attribute, as sent (`1.0`, sometimes `v1.0`).
    pub version: String,
    /// Business records in document order (1..100).
    pub records: Vec<T>,
    /// The sender block that follows the records.
    pub base_transfer: BaseTransfer,
    /// Receipt subscriptions (0..5).
    pub base_subscribes: Vec<BaseSubscribe>,
    /// Whether a `ds:Signature` was present (the parser does not verify it; see [`crate::sign`]).
    /// The emitter ignores this flag: sign emitted XML with [`crate::sign::sign`].
    pub signed: bool,
}

/// A message sent by customs (receipts CEB312 ... 712, tax bills CEB816/818, CEB900).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Receipt<T> {
    /// Root `guid` attribute, as sent.
    pub guid: String,
    /// Root `version` attribute, as sent.
    pub version: String,
    /// Records in document order.
    pub records: Vec<T>,
    /// Whether a `ds:Signature` was present.
    pub signed: bool,
}

/// A parsed CEB message, one variant per message type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CebMessage {
    /// CEB311 进口订单 order.
    Ceb311(Declaration<Order>),
    /// CEB312 订单回执.
    Ceb312(Receipt<OrderReturn>),
    /// CEB411 支付单 payment (`Payment/PaymentHead`).
    Ceb411(Declaration<PaymentHead>),
    /// CEB412 支付单回执.
    Ceb412(Receipt<PaymentReturn>),
    /// CEB511 运单 waybill (`Logistics/LogisticsHead`).
    Ceb511(Declaration<LogisticsHead>),
    /// CEB512 运单回执.
    Ceb512(Receipt<LogisticsReturn>),
    /// CEB513 运单状态.
    Ceb513(Declaration<LogisticsStatus>),
    /// CEB514 运单状态回执.
    Ceb514(Receipt<LogisticsStatusReturn>),
    /// CEB621 申报清单 inventory.
    Ceb621(Declaration<Inventory>),
    /// CEB622 清单回执.
    Ceb622(Receipt<InventoryReturn>),
    /// CEB623 撤销申请单 cancellation.
    Ceb623(Declaration<InvtCancel>),
    /// CEB624 撤销申请单回执.
    Ceb624(Receipt<InvtCancelReturn>),
    /// CEB625 退货申请单 return.
    Ceb625(Declaration<InvtRefund>),
    /// CEB626 退货申请单回执.
    Ceb626(Receipt<InvtRefundReturn>),
    /// CEB711 入库明细单 warehousing detail.
    Ceb711(Declaration<Delivery>),
    /// CEB712 入库明细单回执.
    Ceb712(Receipt<DeliveryReturn>),
    /// CEB816 电子税单 e-tax bill.
    Ceb816(Receipt<Tax>),
    /// CEB818 电子税单状态 (`Tax/TaxHeadStatus`).
    Ceb818(Receipt<TaxHeadStatus>),
    /// CEB900 报文格式校验回执.
    Ceb900(Receipt<MessageReturn>),
}

impl CebMessage {
    /// Local name of the root element, e.g. `CEB621Message`.
    pub fn root_name(&self) -> &'static str {
        match self {
            Self::Ceb311(_) => "CEB311Message",
            Self::Ceb312(_) => "CEB312Message",
            Self::Ceb411(_) => "CEB411Message",
            Self::Ceb412(_) => "CEB412Message",
            Self::Ceb511(_) => "CEB511Message",
            Self::Ceb512(_) => "CEB512Message",
            Self::Ceb513(_) => "CEB513Message",
            Self::Ceb514(_) => "CEB514Message",
            Self::Ceb621(_) => "CEB621Message",
            Self::Ceb622(_) => "CEB622Message",
            Self::Ceb623(_) => "CEB623Message",
            Self::Ceb624(_) => "CEB624Message",
            Self::Ceb625(_) => "CEB625Message",
            Self::Ceb626(_) => "CEB626Message",
            Self::Ceb711(_) => "CEB711Message",
            Self::Ceb712(_) => "CEB712Message",
            Self::Ceb816(_) => "CEB816Message",
            Self::Ceb818(_) => "CEB818Message",
            Self::Ceb900(_) => "CEB900Message",
        }
    }

    /// Message type code, e.g. `CEB621`.
    pub fn code(&self) -> &'static str {
        let root = self.root_name();
        &root[..root.len() - "Message".len()]
    }

    /// Number of business records in the message.
    pub fn record_count(&self) -> usize {
        match self {
            Self::Ceb311(m) => m.records.len(),
            Self::Ceb312(m) => m.records.len(),
            Self::Ceb411(m) => m.records.len(),
            Self::Ceb412(m) => m.records.len(),
            Self::Ceb511(m) => m.records.len(),
            Self::Ceb512(m) => m.records.len(),
            Self::Ceb513(m) => m.records.len(),
            Self::Ceb514(m) => m.records.len(),
            Self::Ceb621(m) => m.records.len(),
            Self::Ceb622(m) => m.records.len(),
            Self::Ceb623(m) => m.records.len(),
            Self::Ceb624(m) => m.records.len(),
            Self::Ceb625(m) => m.records.len(),
            Self::Ceb626(m) => m.records.len(),
            Self::Ceb711(m) => m.records.len(),
            Self::Ceb712(m) => m.records.len(),
            Self::Ceb816(m) => m.records.len(),
            Self::Ceb818(m) => m.records.len(),
            Self::Ceb900(m) => m.records.len(),
        }
    }
}
