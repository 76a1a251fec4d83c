//! The OpenAPI document, generated from the handlers' annotations (`GET /openapi.json`).

use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::check::{CheckReport, CheckRequest, LineReport, ReceiptReport, TaxReport};
use crate::error::{ApiProblem, ErrorBody, ErrorResponse};
use crate::http::routes::{self, Accepted, AcceptedDocument};
use crate::orders::{DeclarationView, DocumentsView, OrderStatus, ReceiptView};

/// The API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "bondgate intake",
        description = "Merchants' front door of bondgate: submit CEB documents (JSON or CEB XML), \
                       follow an order's clearance, pre-flight a bundle."
    ),
    paths(
        routes::submit_documents,
        routes::submit_ceb,
        routes::check,
        routes::order_status,
        routes::order_inventory,
    ),
    components(schemas(
        Accepted,
        AcceptedDocument,
        ErrorResponse,
        ErrorBody,
        ApiProblem,
        CheckRequest,
        CheckReport,
        ReceiptReport,
        TaxReport,
        LineReport,
        OrderStatus,
        DeclarationView,
        ReceiptView,
        DocumentsView,
    )),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// Adds the two ways to present an API key.
#[derive(Debug)]
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bg_<prefix>_<secret>")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "x_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// Example body of `POST /v1/documents`: an order with its payment and waybill.
pub fn documents_example() -> Value {
    json!([
        {
            "type": "order",
            "orderHead": {
                "guid": "3F2504E0-4F89-11D3-9A0C-0305E82C3301", "appType": "1",
                "appTime": "20250301101500", "appStatus": "2", "orderType": "I",
                "orderNo": "EX20250301001", "ebpCode": "EBP0000001", "ebpName": "示例平台",
                "ebcCode": "EBC0000001", "ebcName": "示例电商", "goodsValue": "200",
                "freight": "10", "discount": "0", "taxTotal": "0", "acturalPaid": "210",
                "currency": "142", "buyerRegNo": "u1001", "buyerName": "张三",
                "buyerTelephone": "13800000000", "buyerIdType": "1",
                "buyerIdNumber": "110101199003070000", "payCode": "PAY0000001",
                "payTransactionId": "T20250301001", "consignee": "张三",
                "consigneeTelephone": "13800000000", "consigneeAddress": "重庆市渝北区示例路1号"
            },
            "orderList": [{
                "gnum": "1", "itemNo": "FORMULA-900G", "itemName": "婴儿配方奶粉1段",
                "gmodel": "900g/罐", "unit": "122", "qty": "1", "price": "200",
                "totalPrice": "200", "currency": "142", "country": "609"
            }]
        },
        {
            "type": "payment", "guid": "3F2504E0-4F89-11D3-9A0C-0305E82C3302", "appType": "1",
            "appTime": "20250301101600", "appStatus": "2", "payCode": "PAY0000001",
            "payName": "示例支付", "payTransactionId": "T20250301001",
            "orderNo": "EX20250301001", "ebpCode": "EBP0000001", "ebpName": "示例平台",
            "payerIdType": "1", "payerIdNumber": "110101199003070000", "payerName": "张三",
            "amountPaid": "210", "currency": "142", "payTime": "20250301101600"
        },
        {
            "type": "waybill", "ebpCode": "EBP0000001",
            "guid": "3F2504E0-4F89-11D3-9A0C-0305E82C3303", "appType": "1",
            "appTime": "20250301101700", "appStatus": "2", "logisticsCode": "LOG0000001",
            "logisticsName": "示例物流", "logisticsNo": "LN20250301001",
            "orderNo": "EX20250301001", "freight": "10", "insuredFee": "0", "currency": "142",
            "weight": "1.2", "packNo": "1", "consignee": "张三",
            "consigneeAddress": "重庆市渝北区示例路1号", "consigneeTelephone": "13800000000"
        }
    ])
}

/// Example body of `POST /v1/check`: the documents of [`documents_example`], as
/// `/v1/documents` takes them, and what the buyer already used this year.
pub fn check_example() -> Value {
    json!({ "documents": documents_example(), "annualUsedCny": "1200.00" })
}

/// Example of a 422 answer.
pub fn problems_example() -> Value {
    json!({
        "error": {
            "code": "bg.request.invalid_documents",
            "message": "2 problem(s) found; nothing was accepted"
        },
        "problems": [
            {
                "code": "bg.match.line_total", "index": 0, "path": "orderList[0].totalPrice",
                "message": "totalPrice 150 is not price × qty = 200"
            },
            {
                "code": "bg.request.schema", "index": 2, "path": "",
                "message": "missing field `logisticsNo`"
            }
        ]
    })
}
