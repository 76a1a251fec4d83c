//! Who may send what (ARCHITECTURE guarantee 8; ADR 0006). One rule per document kind, applied
//! twice with the same functions: by intake, where the sender is the enterprise of the API key,
//! and by clearance, where the sender is the envelope's `sender_code` (written by intake) and the
//! stored state decides changes and after-sales. The parties a document names never grant
//! anything by themselves: an enterprise acts only as itself.
//!
//! | document | may create | may change or delete (`appType` 2/3) |
//! |---|---|---|
//! | order (CEB311) | its platform (`ebpCode`), or its seller (`ebcCode`) if the platform bound it | its original sender |
//! | payment (CEB411) | its payment company (`payCode`) | its original sender |
//! | waybill (CEB511) | its logistics company (`logisticsCode`) | its original sender |
//! | cancellation (CEB623), return (CEB625) | the declaration's `agentCode`, `ebcCode` or `ebpCode` as stored at declaration | — |
//!
//! `buyerIdentityVerified` (the platform vouches for the buyer, who then need not be the payer)
//! counts only when the order's sender is its platform.

use std::collections::{BTreeSet, HashSet};
use std::fmt;

use crate::codes::{self, ErrorCode};

/// The kinds of document a sender submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// CEB311.
    Order,
    /// CEB411.
    Payment,
    /// CEB511.
    Waybill,
    /// CEB623.
    Cancellation,
    /// CEB625.
    Refund,
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Order => "order",
            Self::Payment => "payment",
            Self::Waybill => "waybill",
            Self::Cancellation => "cancellation",
            Self::Refund => "return",
        })
    }
}

/// Which sellers (`ebcCode`) each platform (`ebpCode`) lets send orders on its behalf.
pub trait Bindings {
    /// True when `platform` bound `seller`.
    fn is_bound(&self, platform: &str, seller: &str) -> bool;
}

impl Bindings for HashSet<(String, String)> {
    fn is_bound(&self, platform: &str, seller: &str) -> bool {
        self.contains(&(platform.to_owned(), seller.to_owned()))
    }
}

impl Bindings for BTreeSet<(String, String)> {
    fn is_bound(&self, platform: &str, seller: &str) -> bool {
        self.contains(&(platform.to_owned(), seller.to_owned()))
    }
}

/// The parties of a declaration as stored when it was declared: the only enterprises that may
/// cancel or return its inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclarationParties {
    /// Platform.
    pub ebp_code: String,
    /// Seller.
    pub ebc_code: String,
    /// Declaring agent.
    pub agent_code: String,
}

impl DeclarationParties {
    fn includes(&self, sender: &str) -> bool {
        [&self.agent_code, &self.ebc_code, &self.ebp_code]
            .iter()
            .any(|party| party.as_str() == sender)
    }
}

/// Why a sender may not act on a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The record carries no sender (a record that did not come through intake).
    #[error("the record names no sender")]
    NoSender {
        /// What was sent.
        kind: DocumentKind,
    },
    /// The sender is not the enterprise this kind of document comes from.
    #[error("{sender} may not send this {kind}: it must come from the {role} {required}")]
    NotTheSender {
        /// What was sent.
        kind: DocumentKind,
        /// The role the sender must have (`platform`, `payment company`, ...).
        role: &'static str,
        /// The code the sender must have.
        required: String,
        /// Who sent it.
        sender: String,
    },
    /// A seller sent an order of a platform that did not bind it.
    #[error(
        "seller {seller} is not bound to platform {platform}: an order comes from its platform \
         or from a seller the platform bound"
    )]
    SellerNotBound {
        /// The order's platform.
        platform: String,
        /// The sender, named as the order's seller.
        seller: String,
    },
    /// `buyerIdentityVerified` from someone other than the order's platform.
    #[error("only the platform {platform} may vouch for the buyer's identity, not {sender}")]
    IdentityNotFromPlatform {
        /// The order's platform.
        platform: String,
        /// Who sent it.
        sender: String,
    },
    /// A change or deletion of a document someone else sent. Answered like a missing document,
    /// so the answer does not tell whether the document exists.
    #[error("no {kind} of {sender} to change or delete")]
    NotOriginalSender {
        /// What was sent.
        kind: DocumentKind,
        /// Who sent it.
        sender: String,
    },
    /// A cancellation or return from an enterprise that is not a party of the declaration.
    #[error("{sender} is not a party of the declared inventory {invt_no}")]
    NotAParty {
        /// What was sent.
        kind: DocumentKind,
        /// Who sent it.
        sender: String,
        /// The inventory it names.
        invt_no: String,
    },
}

impl Refusal {
    /// The customs code of the receipt that answers the refused record.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::NotOriginalSender { kind, .. } => match kind {
                DocumentKind::Order => codes::ORDER_NOT_FOUND_FOR_CHANGE,
                DocumentKind::Payment => codes::PAYMENT_NOT_FOUND_FOR_CHANGE,
                _ => codes::WAYBILL_NOT_FOUND_FOR_CHANGE,
            },
            Self::NotAParty { kind, .. } | Self::NoSender { kind }
                if matches!(kind, DocumentKind::Cancellation | DocumentKind::Refund) =>
            {
                after_sale_code(*kind)
            }
            _ => codes::ENTERPRISE_CODE_INVALID,
        }
    }

    /// The stable code of the refusal in HTTP answers (`bg.auth.*`).
    pub fn api_code(&self) -> &'static str {
        match self {
            Self::NoSender { .. } => "bg.auth.no_sender",
            Self::NotTheSender { .. } => "bg.auth.not_the_sender",
            Self::SellerNotBound { .. } => "bg.auth.seller_not_bound",
            Self::IdentityNotFromPlatform { .. } => "bg.auth.identity_not_platform",
            Self::NotOriginalSender { .. } => "bg.auth.not_original_sender",
            Self::NotAParty { .. } => "bg.auth.not_a_party",
        }
    }
}

fn after_sale_code(kind: DocumentKind) -> ErrorCode {
    if kind == DocumentKind::Refund {
        codes::REFUND_NOT_PERMITTED
    } else {
        codes::CANCEL_NOT_PERMITTED
    }
}

fn sender_of(kind: DocumentKind, sender: &str) -> Result<&str, Refusal> {
    if sender.is_empty() {
        Err(Refusal::NoSender { kind })
    } else {
        Ok(sender)
    }
}

/// The parties of an order that matter for who may send it.
#[derive(Debug, Clone, Copy)]
pub struct OrderSenders<'a> {
    /// `ebpCode`.
    pub ebp_code: &'a str,
    /// `ebcCode`.
    pub ebc_code: &'a str,
    /// The order carries `buyerIdentityVerified`.
    pub identity_vouched: bool,
}

/// May `sender` send (create, or change as the creator) this order?
pub fn authorize_order(
    sender: &str,
    order: OrderSenders<'_>,
    bindings: &dyn Bindings,
) -> Result<(), Refusal> {
    let sender = sender_of(DocumentKind::Order, sender)?;
    if sender == order.ebp_code {
        return Ok(());
    }
    if sender != order.ebc_code {
        return Err(Refusal::NotTheSender {
            kind: DocumentKind::Order,
            role: "platform",
            required: order.ebp_code.to_owned(),
            sender: sender.to_owned(),
        });
    }
    if !bindings.is_bound(order.ebp_code, order.ebc_code) {
        return Err(Refusal::SellerNotBound {
            platform: order.ebp_code.to_owned(),
            seller: sender.to_owned(),
        });
    }
    if order.identity_vouched {
        return Err(Refusal::IdentityNotFromPlatform {
            platform: order.ebp_code.to_owned(),
            sender: sender.to_owned(),
        });
    }
    Ok(())
}

/// May `sender` send this payment? Only its payment company (`payCode`).
pub fn authorize_payment(sender: &str, pay_code: &str) -> Result<(), Refusal> {
    own_document(DocumentKind::Payment, "payment company", sender, pay_code)
}

/// May `sender` send this waybill? Only its logistics company (`logisticsCode`).
pub fn authorize_waybill(sender: &str, logistics_code: &str) -> Result<(), Refusal> {
    own_document(
        DocumentKind::Waybill,
        "logistics company",
        sender,
        logistics_code,
    )
}

fn own_document(
    kind: DocumentKind,
    role: &'static str,
    sender: &str,
    required: &str,
) -> Result<(), Refusal> {
    let sender = sender_of(kind, sender)?;
    if sender == required {
        Ok(())
    } else {
        Err(Refusal::NotTheSender {
            kind,
            role,
            required: required.to_owned(),
            sender: sender.to_owned(),
        })
    }
}

/// May `sender` change or delete a stored document that `original_sender` sent? Only the same
/// enterprise.
pub fn authorize_change(
    kind: DocumentKind,
    sender: &str,
    original_sender: &str,
) -> Result<(), Refusal> {
    let sender = sender_of(kind, sender)?;
    if sender == original_sender {
        Ok(())
    } else {
        Err(Refusal::NotOriginalSender {
            kind,
            sender: sender.to_owned(),
        })
    }
}

/// May `sender` cancel or return the inventory `invt_no`? Only a party of the declaration as
/// stored when it was declared; `parties` is `None` when the order has no declaration with that
/// inventory number, which is refused the same way (the answer does not tell which).
pub fn authorize_after_sale(
    kind: DocumentKind,
    sender: &str,
    invt_no: &str,
    parties: Option<&DeclarationParties>,
) -> Result<(), Refusal> {
    let sender = sender_of(kind, sender)?;
    match parties {
        Some(parties) if parties.includes(sender) => Ok(()),
        _ => Err(Refusal::NotAParty {
            kind,
            sender: sender.to_owned(),
            invt_no: invt_no.to_owned(),
        }),
    }
}

/// Whether the buyer's identity counts as verified: only the order's platform may vouch for it.
pub fn identity_vouched(flag: bool, order_sender: &str, ebp_code: &str) -> bool {
    flag && order_sender == ebp_code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(identity_vouched: bool) -> OrderSenders<'static> {
        OrderSenders {
            ebp_code: "PLATFORM",
            ebc_code: "SELLER",
            identity_vouched,
        }
    }

    fn bound() -> HashSet<(String, String)> {
        HashSet::from([("PLATFORM".to_owned(), "SELLER".to_owned())])
    }

    #[test]
    fn orders_come_from_their_platform_or_a_bound_seller() {
        let none = HashSet::new();
        assert_eq!(authorize_order("PLATFORM", order(true), &none), Ok(()));
        assert_eq!(authorize_order("SELLER", order(false), &bound()), Ok(()));
        let unbound = authorize_order("SELLER", order(false), &none).unwrap_err();
        assert_eq!(unbound.api_code(), "bg.auth.seller_not_bound");
        let stranger = authorize_order("PAYCO", order(false), &bound()).unwrap_err();
        assert_eq!(stranger.api_code(), "bg.auth.not_the_sender");
        assert_eq!(stranger.error_code(), codes::ENTERPRISE_CODE_INVALID);
    }

    #[test]
    fn only_the_platform_vouches_for_the_buyer() {
        let refused = authorize_order("SELLER", order(true), &bound()).unwrap_err();
        assert_eq!(refused.api_code(), "bg.auth.identity_not_platform");
        assert!(identity_vouched(true, "PLATFORM", "PLATFORM"));
        assert!(!identity_vouched(true, "SELLER", "PLATFORM"));
        assert!(!identity_vouched(false, "PLATFORM", "PLATFORM"));
    }

    #[test]
    fn payments_and_waybills_come_from_their_own_company() {
        assert_eq!(authorize_payment("PAYCO", "PAYCO"), Ok(()));
        assert!(authorize_payment("PLATFORM", "PAYCO").is_err());
        assert_eq!(authorize_waybill("SHIPCO", "SHIPCO"), Ok(()));
        let refused = authorize_waybill("PAYCO", "SHIPCO").unwrap_err();
        assert_eq!(refused.error_code(), codes::ENTERPRISE_CODE_INVALID);
    }

    #[test]
    fn changes_only_by_the_original_sender_and_answered_as_not_found() {
        assert_eq!(
            authorize_change(DocumentKind::Order, "SELLER", "SELLER"),
            Ok(())
        );
        let cases = [
            (DocumentKind::Order, codes::ORDER_NOT_FOUND_FOR_CHANGE),
            (DocumentKind::Payment, codes::PAYMENT_NOT_FOUND_FOR_CHANGE),
            (DocumentKind::Waybill, codes::WAYBILL_NOT_FOUND_FOR_CHANGE),
        ];
        for (kind, code) in cases {
            let refused = authorize_change(kind, "SELLER", "PLATFORM").unwrap_err();
            assert_eq!(refused.error_code(), code, "{kind}");
        }
    }

    #[test]
    fn after_sales_only_by_the_declarations_parties() {
        let parties = DeclarationParties {
            ebp_code: "PLATFORM".into(),
            ebc_code: "SELLER".into(),
            agent_code: "AGENT".into(),
        };
        for party in ["PLATFORM", "SELLER", "AGENT"] {
            let kind = DocumentKind::Cancellation;
            assert_eq!(
                authorize_after_sale(kind, party, "I1", Some(&parties)),
                Ok(())
            );
        }
        let kind = DocumentKind::Cancellation;
        let refused = authorize_after_sale(kind, "PAYCO", "I1", Some(&parties)).unwrap_err();
        assert_eq!(refused.error_code(), codes::CANCEL_NOT_PERMITTED);
        let kind = DocumentKind::Refund;
        let missing = authorize_after_sale(kind, "PLATFORM", "I1", None).unwrap_err();
        assert_eq!(missing.error_code(), codes::REFUND_NOT_PERMITTED);
        assert_eq!(missing.api_code(), "bg.auth.not_a_party");
    }

    #[test]
    fn a_record_without_a_sender_is_refused_for_every_kind() {
        let none = HashSet::new();
        assert!(matches!(
            authorize_order("", order(false), &none),
            Err(Refusal::NoSender { .. })
        ));
        assert!(authorize_payment("", "").is_err());
        let kind = DocumentKind::Cancellation;
        let refused = authorize_after_sale(kind, "", "I1", None).unwrap_err();
        assert_eq!(refused.error_code(), codes::CANCEL_NOT_PERMITTED);
    }
}
