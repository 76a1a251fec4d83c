// Browser test of the review UI, driven by the Rust test
// services/review/tests/api/browser.rs (which starts the stack pieces, then runs `node` on this
// file and checks the 800 receipt on cbec.receipts.v1 afterwards).
//
// Flow: log in, open the oldest held declaration, screenshot it, release it, and see it leave
// the queue. Prints one JSON line on success: {"released": orderNo, "before": n, "after": m}.
//
// Environment: REVIEW_URL, REVIEW_USER, REVIEW_PASSWORD, REVIEW_SCREENSHOT (PNG path of the
// detail page), optionally REVIEW_QUEUE_SCREENSHOT (of the queue), and BONDGATE_PLAYWRIGHT_DIR (where scripts/lib/browser.sh installed playwright-core). The browser
// is Debian's chromium, headless; no browser is downloaded.

import { createRequire } from "node:module";
import path from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const require = createRequire(path.join(env("BONDGATE_PLAYWRIGHT_DIR"), "node_modules") + "/");
const { chromium } = require("playwright-core");

const base = env("REVIEW_URL");
const check = (condition, message) => {
  if (!condition) throw new Error(`check failed: ${message}`);
};

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  // Chromium's sandbox needs user namespaces, which a root CI container does not give.
  args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
});
try {
  const context = await browser.newContext({
    locale: "zh-CN",
    viewport: { width: 1360, height: 900 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  // The release form asks for confirmation (review.js); an officer says yes.
  page.on("dialog", (dialog) => dialog.accept());
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
  // CSP violations and script errors surface as console errors.
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });

  await page.goto(`${base}/queue`);
  check(new URL(page.url()).pathname === "/login", "an anonymous visit lands on the login page");
  await page.fill("input[name=username]", env("REVIEW_USER"));
  await page.fill("input[name=password]", env("REVIEW_PASSWORD"));
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/queue"),
    page.click("[data-testid=login]"),
  ]);

  const rows = page.locator("[data-testid=queue-row]");
  const before = await rows.count();
  if (process.env.REVIEW_QUEUE_SCREENSHOT) {
    await page.screenshot({ path: process.env.REVIEW_QUEUE_SCREENSHOT, fullPage: true });
  }
  check(before > 0, "held declarations are listed");
  const oldest = await rows.first().getAttribute("data-order-no");
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith("/declarations/")),
    rows.first().locator("a.order").click(),
  ]);
  const shown = (await page.textContent("[data-testid=order-no]")).trim();
  check(shown === oldest, `the oldest declaration ${oldest} opened (got ${shown})`);
  check((await page.textContent("[data-testid=status]")).includes("300"), "it is held (300)");
  check((await page.locator("table.docs tr").count()) > 10, "the three documents are shown");
  await page.screenshot({ path: env("REVIEW_SCREENSHOT"), fullPage: true });

  await Promise.all([
    page.waitForURL((url) => url.pathname === "/queue" && url.searchParams.get("done") === "release"),
    page.click("[data-testid=release]"),
  ]);
  const notice = await page.textContent(".notice.ok");
  check(notice.includes(oldest), `the queue confirms the release of ${oldest}`);
  const still = await page.locator(`[data-testid=queue-row][data-order-no="${oldest}"]`).count();
  check(still === 0, "the released declaration left the queue");
  const after = await rows.count();
  check(after === before - 1, `one row fewer (${before} -> ${after})`);
  check(problems.length === 0, `no script or CSP errors: ${problems.join("; ")}`);
  console.log(JSON.stringify({ released: oldest, before, after }));
} finally {
  await browser.close();
}
