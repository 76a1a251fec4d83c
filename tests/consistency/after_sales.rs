//! After the declaration, as merchants live it through intake on the real stack: yearly weight
//! caps across orders, the parcel's exit (CEB513), cancellations refused after it, and returns
//! within their windows with the stock back only when the goods are (issue 15, points 5 and 6).

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::bundles::{Bundle, buyer, one_line};
use crate::stack::{EBC, EBP, LOG, PAY, Stack};

/// Each document by its sender, as merchants submit them; every one accepted (202).
async fn submit(stack: &Stack, bundle: &Bundle) -> anyhow::Result<()> {
    for (document, sender) in bundle.documents.iter().zip([EBP, PAY, LOG]) {
        send(stack, document, sender).await?;
    }
    Ok(())
}

/// One document as `sender`, which intake must accept.
async fn send(stack: &Stack, document: &Value, sender: &str) -> anyhow::Result<()> {
    let (status, answer) = stack
        .post("/v1/documents", &json!([document]), sender)
        .await;
    anyhow::ensure!(status == 202, "{sender}: {status} {answer}");
    Ok(())
}

/// The statuses of `order_no`'s receipts of `flow`, in sequence, once there are `count`.
async fn receipts(
    pool: &PgPool,
    order_no: &str,
    flow: i16,
    count: usize,
) -> anyhow::Result<Vec<i32>> {
    let read = || async {
        let statuses: Vec<i32> = sqlx::query_scalar(
            "SELECT return_status FROM receipts
             WHERE ebp_code = $1 AND order_no = $2 AND flow = $3 ORDER BY sequence",
        )
        .bind(EBP)
        .bind(order_no)
        .bind(flow)
        .fetch_all(pool)
        .await?;
        anyhow::Ok(statuses)
    };
    let what = format!("{count} receipts of flow {flow} for {order_no}");
    let waited = bondgate_tests::wait_until(&what, Duration::from_secs(60), || async {
        Ok(read().await?.len() >= count)
    })
    .await;
    let statuses = read().await?;
    waited.map_err(|error| anyhow::anyhow!("{error}; got {statuses:?}"))?;
    Ok(statuses)
}

/// The final inventory receipt of each order, in turn (each waits for the one before, so the
/// orders are decided in this order).
async fn decide_in_turn(stack: &Stack, bundles: &[Bundle]) -> anyhow::Result<Vec<i32>> {
    let mut finals = Vec::new();
    for bundle in bundles {
        submit(stack, bundle).await?;
        let statuses = receipts(&stack.pool, &bundle.order_no, 1, 2).await?;
        let last = *statuses.last().expect("two receipts");
        let settled = if last == 120 {
            receipts(&stack.pool, &bundle.order_no, 1, 3).await?[2]
        } else {
            last
        };
        finals.push(settled);
    }
    Ok(finals)
}

async fn invt_no(pool: &PgPool, order_no: &str) -> anyhow::Result<String> {
    Ok(
        sqlx::query_scalar(
            "SELECT invt_no FROM declarations WHERE ebp_code = $1 AND order_no = $2",
        )
        .bind(EBP)
        .bind(order_no)
        .fetch_one(pool)
        .await?,
    )
}

/// The head shared by a cancellation and a return of `order_no` (buyer `buyer_index`).
fn after_sale_head(order_no: &str, buyer_index: usize, invt_no: &str, kind: char) -> Value {
    let (name, id_number) = buyer(buyer_index);
    json!({
        "guid": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{kind}/{order_no}/{invt_no}").as_bytes())
            .hyphenated().to_string().to_uppercase(),
        "appType": "1", "appTime": now_ceb(), "appStatus": "2", "customsCode": "8012",
        "orderNo": order_no, "ebpCode": EBP, "ebpName": "示例平台", "ebcCode": EBC,
        "ebcName": "示例卖家", "logisticsNo": format!("LN-{order_no}"), "logisticsCode": LOG,
        "logisticsName": "示例物流", "invtNo": invt_no, "buyerIdType": "1",
        "buyerIdNumber": id_number, "buyerName": name, "buyerTelephone": "13800000009",
        "agentCode": EBC, "agentName": "示例卖家", "reason": "消费者申请"
    })
}

fn cancellation(order_no: &str, buyer_index: usize, invt_no: &str) -> Value {
    let mut head = after_sale_head(order_no, buyer_index, invt_no, 'C');
    head["type"] = json!("cancellation");
    head
}

/// A return of `qty` of the inventory's only line.
fn refund(order_no: &str, buyer_index: usize, invt_no: &str, gcode: &str, qty: i64) -> Value {
    json!({
        "type": "refund",
        "invtRefundHead": after_sale_head(order_no, buyer_index, invt_no, 'R'),
        "invtRefundList": [{
            "gnum": "1", "gcode": gcode, "gname": "退货商品", "qty": qty.to_string(), "unit": "122"
        }]
    })
}

/// The logistics company's CEB513: the parcel of `logistics_no` was signed for.
fn logistics_status(logistics_code: &str, logistics_no: &str) -> Value {
    json!({
        "type": "logistics_status",
        "guid": uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, logistics_no.as_bytes())
            .hyphenated().to_string().to_uppercase(),
        "appType": "1", "appTime": now_ceb(), "appStatus": "2",
        "logisticsCode": logistics_code, "logisticsName": "示例物流",
        "logisticsNo": logistics_no, "logisticsStatus": "S", "logisticsTime": now_ceb()
    })
}

/// [`logistics_status`] as the logistics company's CEB513Message.
fn ceb513_xml(logistics_no: &str) -> anyhow::Result<Vec<u8>> {
    use bondgate_ceb::model::{BaseTransfer, LogisticsStatus};
    let mut fields = logistics_status(LOG, logistics_no);
    fields.as_object_mut().expect("an object").remove("type");
    let record: LogisticsStatus = serde_json::from_value(fields)?;
    let message = bondgate_ceb::Declaration {
        guid: uuid::Uuid::new_v4().hyphenated().to_string().to_uppercase(),
        version: "1.0".to_owned(),
        records: vec![record],
        base_transfer: BaseTransfer {
            cop_code: LOG.to_owned(),
            cop_name: "示例物流".to_owned(),
            dxp_mode: "DXP".to_owned(),
            dxp_id: "DXPENTTEST000003".to_owned(),
            note: None,
        },
        base_subscribes: Vec::new(),
        signed: false,
    };
    let xml = bondgate_ceb::to_xml(&bondgate_ceb::CebMessage::Ceb513(message))?;
    Ok(xml.into_bytes())
}

fn now_ceb() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(8))
        .format("%Y%m%d%H%M%S")
        .to_string()
}

async fn on_hand(pool: &PgPool, item_record_no: &str) -> anyhow::Result<rust_decimal::Decimal> {
    Ok(
        sqlx::query_scalar("SELECT on_hand FROM account_book_items WHERE item_record_no = $1")
            .bind(item_record_no)
            .fetch_one(pool)
            .await?,
    )
}

/// Moves an order's release back in time by `days`: the windows count from it.
async fn released_days_ago(pool: &PgPool, order_no: &str, days: i32) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE declarations SET released_at = released_at - make_interval(days => $3)
         WHERE ebp_code = $1 AND order_no = $2",
    )
    .bind(EBP)
    .bind(order_no)
    .bind(days)
    .execute(pool)
    .await?;
    Ok(())
}

/// `bondgate returns arrived` for one order, as the warehouse runs it.
async fn goods_arrived(stack: &Stack, order_no: &str) -> anyhow::Result<()> {
    use bondgate::returns::{ReturnsAction, ReturnsArgs};
    let command = bondgate::Command::Returns(ReturnsArgs {
        action: ReturnsAction::Arrived {
            ebp_code: EBP.to_owned(),
            order_no: order_no.to_owned(),
        },
        database: bondgate::database::DatabaseArgs {
            database_url: Some(stack.url.clone()),
        },
    });
    bondgate::run(bondgate::Cli { command }).await
}

async fn assert_invariants(pool: &PgPool) -> anyhow::Result<()> {
    let broken = bondgate_tests::invariants::check_database(pool).await?;
    anyhow::ensure!(broken.is_empty(), "invariants broken: {broken:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yearly_weight_caps_add_up_across_orders_and_come_back_on_cancellation()
-> anyhow::Result<()> {
    // Goal: a buyer's weight of a capped tariff line adds up over the year, across orders and
    // batches, and an approved cancellation gives it back.
    // Method: roasted coffee is capped at 2 kg per person and year (fixture positive list);
    // one buyer orders one 1 kg bag three times, each decided before the next is sent: the
    // third is refused with -900204 as its receipt status. The platform cancels the second;
    // a fourth bag is then released. The invariant checker recomputes the stored weights.
    let stack = Stack::start("weights").await?;
    let bag = |n: usize| one_line(&format!("COFFEE-{n}"), 7001, "BG-COFFEE-1KG", 1, 8_800);
    let first_three = [bag(1), bag(2), bag(3)];
    assert_eq!(
        decide_in_turn(&stack, &first_three).await?,
        [800, 800, -900204]
    );
    let statuses = receipts(&stack.pool, "COFFEE-3", 1, 2).await?;
    assert_eq!(statuses, [2, -900204], "no 120 for a refused declaration");

    let second = invt_no(&stack.pool, "COFFEE-2").await?;
    send(&stack, &cancellation("COFFEE-2", 7001, &second), EBP).await?;
    assert_eq!(receipts(&stack.pool, "COFFEE-2", 2, 1).await?, [399]);
    assert_eq!(decide_in_turn(&stack, &[bag(4)]).await?, [800]);
    // A fifth bag is over again: the credit was exactly the cancelled kilogram.
    assert_eq!(decide_in_turn(&stack, &[bag(5)]).await?, [-900204]);
    assert_invariants(&stack.pool).await?;
    stack.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parcel_out_of_the_zone_is_returned_within_its_windows_not_cancelled()
-> anyhow::Result<()> {
    // Goal: the logistics status (CEB513) takes the parcel out of the zone; from then on a
    // cancellation is refused (-623005) and the way back is a return, approved within 30 days
    // of release; its stock comes back only when the goods are recorded back, within 45 days.
    // Method: three tea orders released. EXIT-1: a CEB513 from its logistics company (after a
    // foreign key's attempts), a cancellation (refused), a return (399, stock unchanged), the
    // goods recorded back (stock restored, a second time refused). EXIT-2: out of the zone by
    // a CEB513 in XML, released 31 days ago: its return is refused (-625001). EXIT-3: returned, then released 46 days ago: the
    // goods can no longer be recorded back and its stock stays out.
    let stack = Stack::start("exit").await?;
    let tea = |n: usize| one_line(&format!("EXIT-{n}"), 7100 + n, "BG-TEA-250G", 2, 6_000);
    let orders = [tea(1), tea(2), tea(3)];
    assert_eq!(decide_in_turn(&stack, &orders).await?, [800, 800, 800]);
    let pool = &stack.pool;
    let invt: Vec<String> = futures::future::try_join_all(
        ["EXIT-1", "EXIT-2", "EXIT-3"].map(|order_no| invt_no(pool, order_no)),
    )
    .await?;

    exit_is_only_for_the_waybills_company(&stack).await?;
    send(&stack, &logistics_status(LOG, "LN-EXIT-1"), LOG).await?;
    assert_eq!(receipts(pool, "EXIT-1", 5, 1).await?, [399]);
    send(&stack, &cancellation("EXIT-1", 7101, &invt[0]), EBP).await?;
    assert_eq!(receipts(pool, "EXIT-1", 2, 1).await?, [-623005]);

    let before = on_hand(pool, "30001").await?;
    send(
        &stack,
        &refund("EXIT-1", 7101, &invt[0], "0902109000", 2),
        EBP,
    )
    .await?;
    assert_eq!(receipts(pool, "EXIT-1", 3, 1).await?, [399]);
    assert_eq!(
        on_hand(pool, "30001").await?,
        before,
        "not back before the goods"
    );
    goods_arrived(&stack, "EXIT-1").await?;
    assert_eq!(
        on_hand(pool, "30001").await?,
        before + rust_decimal::Decimal::TWO
    );
    assert!(
        goods_arrived(&stack, "EXIT-1").await.is_err(),
        "recorded once"
    );
    let (status, order) = stack
        .get_json(&format!("/v1/orders/{EBP}/EXIT-1"), EBP)
        .await;
    assert_eq!(status, 200);
    assert_eq!(order["status"], "returned");
    assert!(order["declaration"]["exitedAt"].is_string(), "{order}");
    assert!(order["declaration"]["goodsBackAt"].is_string(), "{order}");

    // The same status as CEB513 XML: EXIT-2 leaves the zone too, and may still be returned.
    let (status, answer) = stack
        .post_bytes("/v1/ceb", "application/xml", ceb513_xml("LN-EXIT-2")?, LOG)
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(receipts(pool, "EXIT-2", 5, 1).await?, [399]);
    released_days_ago(pool, "EXIT-2", 31).await?;
    send(
        &stack,
        &refund("EXIT-2", 7102, &invt[1], "0902109000", 1),
        EBP,
    )
    .await?;
    assert_eq!(receipts(pool, "EXIT-2", 3, 1).await?, [-625001]);

    send(
        &stack,
        &refund("EXIT-3", 7103, &invt[2], "0902109000", 2),
        EBP,
    )
    .await?;
    assert_eq!(receipts(pool, "EXIT-3", 3, 1).await?, [399]);
    released_days_ago(pool, "EXIT-3", 46).await?;
    let before = on_hand(pool, "30001").await?;
    assert!(
        goods_arrived(&stack, "EXIT-3").await.is_err(),
        "past 45 days"
    );
    assert_eq!(on_hand(pool, "30001").await?, before);
    assert_invariants(pool).await?;
    stack.stop().await
}

/// A logistics status may come only from the logistics company it names, and only that company
/// learns whether the waybill is known.
async fn exit_is_only_for_the_waybills_company(stack: &Stack) -> anyhow::Result<()> {
    for waybill in ["LN-EXIT-2", "LN-NO-SUCH"] {
        let forged = logistics_status(LOG, waybill);
        let (status, answer) = stack.post("/v1/documents", &json!([forged]), EBP).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["error"]["code"], "bg.auth.forbidden", "{answer}");
    }
    let unknown = logistics_status(LOG, "LN-NO-SUCH");
    let (status, answer) = stack.post("/v1/documents", &json!([unknown]), LOG).await;
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.to_string().contains("bg.request.unknown_waybill"),
        "{answer}"
    );
    let mut staged = logistics_status(LOG, "LN-EXIT-2");
    staged["logisticsStatus"] = json!("R");
    let (status, answer) = stack.post("/v1/documents", &json!([staged]), LOG).await;
    assert_eq!(status, 422, "only S (signed for) is an exit: {answer}");
    Ok(())
}
