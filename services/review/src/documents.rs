//! The stored order, payment and waybill of a declaration, opened (they are encrypted at rest)
//! and parsed with the domain's parsers. The plaintext lives only in memory for one request.

use bondgate_domain::{Order, OrderBundle, Payment, Waybill};
use bondgate_proto::Message;
use bondgate_proto::v1::{self, document::Body};
use bondgate_storage::crypto::PayloadCipher;
use sqlx::PgPool;

/// The documents of an order, or why they cannot be shown.
#[derive(Debug, Clone)]
pub enum Documents {
    /// All three opened and parsed.
    Bundle {
        /// The documents.
        bundle: Box<OrderBundle>,
        /// The platform vouched for the buyer's identity (buyer may differ from payer).
        identity_verified: bool,
    },
    /// Something is missing or unreadable (never expected for a declared order).
    Unavailable(&'static str),
}

const STORED: &str = "
SELECT o.payload AS o_payload, p.payload AS p_payload, w.payload AS w_payload
FROM (SELECT $1::text AS ebp, $2::text AS ono) k
LEFT JOIN order_documents o ON o.ebp_code = k.ebp AND o.order_no = k.ono
LEFT JOIN payment_documents p ON p.ebp_code = k.ebp AND p.order_no = k.ono
LEFT JOIN waybill_documents w ON w.ebp_code = k.ebp AND w.order_no = k.ono";

fn body(cipher: &PayloadCipher, sealed: Option<&[u8]>) -> Option<Body> {
    let plain = cipher.open(sealed?).ok()?;
    v1::Document::decode(plain.as_slice()).ok()?.body
}

/// Loads and opens the documents of order `ebp_code/order_no`.
pub async fn load(
    pool: &PgPool,
    cipher: &PayloadCipher,
    ebp_code: &str,
    order_no: &str,
) -> sqlx::Result<Documents> {
    type Sealed = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);
    let (order, payment, waybill): Sealed = sqlx::query_as(STORED)
        .bind(ebp_code)
        .bind(order_no)
        .fetch_one(pool)
        .await?;
    let opened = (
        body(cipher, order.as_deref()),
        body(cipher, payment.as_deref()),
        body(cipher, waybill.as_deref()),
    );
    let (Some(Body::Order(order)), Some(Body::Payment(payment)), Some(Body::Waybill(waybill))) =
        opened
    else {
        return Ok(Documents::Unavailable(
            "a document is missing or cannot be decrypted",
        ));
    };
    let parsed = (
        Order::parse(&(&order).into()),
        Payment::parse(&(&payment).into()),
        Waybill::parse(&(&waybill).into()),
    );
    let (Ok(order_doc), Ok(payment), Ok(waybill)) = parsed else {
        return Ok(Documents::Unavailable("a stored document no longer parses"));
    };
    Ok(Documents::Bundle {
        bundle: Box::new(OrderBundle {
            order: order_doc,
            payment,
            waybill,
        }),
        identity_verified: order.buyer_identity_verified,
    })
}
