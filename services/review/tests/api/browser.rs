//! The browser test: a real headless Chromium drives the UI (services/review/browser/
//! review.spec.mjs, with playwright-core installed by scripts/lib/browser.sh), and the release
//! it makes is checked in the database and on the receipts topic.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bondgate_proto::v1::Receipt;

use crate::helpers::{OFFICER, Options, PASSWORD, World};

/// Where scripts/lib/browser.sh installs playwright-core.
fn playwright_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BONDGATE_PLAYWRIGHT_DIR") {
        return PathBuf::from(dir);
    }
    let tools = std::env::var_os("BONDGATE_TOOLS_DIR").map_or_else(
        || {
            let home = std::env::var_os("HOME").expect("HOME is set");
            Path::new(&home).join(".cache/bondgate/tools")
        },
        PathBuf::from,
    );
    tools.join("playwright")
}

#[tokio::test]
async fn browser_release_leaves_the_queue_and_publishes_800() {
    // Goal: in a real browser an officer logs in, opens the oldest held declaration, releases
    // it and sees it leave the queue; its 800 receipt reaches cbec.receipts.v1 through the
    // outbox and clearance's relay; a screenshot of the detail page is kept in target/.
    // Method: clearance and the review service run in-process on fresh resources; `node` runs
    // the spec against the service's URL (headless /usr/bin/chromium); then the database and
    // the receipts topic are read.
    let playwright = playwright_dir();
    assert!(
        playwright
            .join("node_modules/playwright-core/package.json")
            .exists()
            && Path::new("/usr/bin/chromium").exists(),
        "the browser test needs chromium and playwright-core: run \
         `source scripts/lib/common.sh && source scripts/lib/browser.sh` (scripts/test does)"
    );
    // Paid by relatives (identity vouched for): the screenshot shows highlighted mismatches.
    let options = Options {
        orders: 3,
        relative_payers: true,
        ..Options::default()
    };
    let world = World::start("review_browser", options).await;
    let (id, oldest, _) = world.held().await[0].clone();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = manifest.join("../../target");
    std::fs::create_dir_all(&target).expect("target/ exists");
    let screenshot = target.join("review-detail.png");
    let _ = std::fs::remove_file(&screenshot);
    let run = tokio::process::Command::new("node")
        .arg(manifest.join("browser/review.spec.mjs"))
        .env("REVIEW_URL", &world.base)
        .env("REVIEW_USER", OFFICER)
        .env("REVIEW_PASSWORD", PASSWORD)
        .env("REVIEW_SCREENSHOT", &screenshot)
        .env("REVIEW_QUEUE_SCREENSHOT", target.join("review-queue.png"))
        .env("BONDGATE_PLAYWRIGHT_DIR", &playwright)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the browser test finishes within 2 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser flow failed:\n{stdout}\n{stderr}"
    );
    let result: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("one JSON line");
    assert_eq!(
        result["released"],
        oldest.as_str(),
        "the oldest declaration was released"
    );
    assert_eq!(world.status(id).await.0, 800);

    let png = std::fs::read(&screenshot).expect("the screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real screenshot"
    );

    let (ebp, ono, sequence): (String, String, i32) = sqlx::query_as(
        "SELECT ebp_code, order_no, sequence FROM receipts
         WHERE declaration_id = $1 AND return_status = 800",
    )
    .bind(id)
    .fetch_one(&world.pool)
    .await
    .expect("the 800 receipt is in the outbox");
    let receipt_id = bondgate_storage::outbox::receipt_id(&ebp, &ono, sequence);
    let released: Vec<Receipt> = world
        .published_receipts()
        .await
        .into_iter()
        .filter(|r| r.order_no == oldest && r.return_status == 800)
        .collect();
    assert_eq!(
        released.len(),
        1,
        "one 800 receipt of {oldest} on the topic"
    );
    assert_eq!(released[0].receipt_id, receipt_id.to_string());
    assert_eq!(released[0].sequence, 4, "after 2, 120 and 300");
    world.finish().await;
}
