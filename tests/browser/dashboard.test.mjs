// Real-browser test of the ironmage dashboard, against a running `ironmage up`.
//
//   IRONMAGE_URL=http://127.0.0.1:6789 node --test dashboard.test.mjs
//
// Normally started by run.sh, which builds the binary and starts a fresh server. Drives Debian's
// Chromium (/usr/bin/chromium, or $CHROMIUM) through playwright-core; never downloads a browser.
// The steps run in order and share one page; once a step fails the later ones are skipped.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = (process.env.IRONMAGE_URL || "http://127.0.0.1:6789").replace(/\/$/, "");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = process.env.SCREENSHOT || "/tmp/ironmage-dashboard.png";
const RUN_TIMEOUT = 120_000;
const UI_TIMEOUT = 15_000;
const PIPELINE = "demo_mlops";
const BLOCKS = ["make_dataset", "preprocessing", "training", "registry", "deployment"];

let profile, context, page;
const pageErrors = [];
const ctx = {}; // values handed from step to step

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "ironmage-chromium-"));
  // launchPersistentContext owns --user-data-dir: a fresh profile for every run.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
      "--no-first-run", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1440, height: 1000 },
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(UI_TIMEOUT);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // Chromium logs every 4xx as "Failed to load resource"; the 400 of the invalid-variables step is expected.
  page.on("console", (m) => { if (m.type() === "error" && !/Failed to load resource/.test(m.text())) pageErrors.push("console: " + m.text()); });
});

after(async () => {
  if (page) {
    try { await page.screenshot({ path: SCREENSHOT, fullPage: true }); console.log(`# screenshot: ${SCREENSHOT}`); }
    catch (e) { console.log(`# screenshot failed: ${e.message}`); }
  }
  if (context) await context.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

let failed = false;
function step(name, fn, timeout = 60_000) {
  test(name, { timeout }, async (t) => {
    if (failed) { t.skip("an earlier step failed"); return; }
    try { await fn(); } catch (e) { failed = true; throw e; }
  });
}

async function api(path, init = {}) {
  const res = await fetch(BASE + path, { ...init, headers: { "Content-Type": "application/json", ...(init.headers || {}) } });
  const body = await res.json();
  return { status: res.status, body };
}

const runRow = (id) => page.locator(`[data-testid="run-row"][data-run-id="${id}"]`);
const versionRow = (model, v) => page.locator(`[data-testid="version-row"][data-model="${model}"][data-version="${v}"]`);

/** Wait until run `id` is shown as success with every block success, failing early if it fails. */
async function waitForRunSuccess(id) {
  const row = runRow(id);
  await row.waitFor({ state: "visible", timeout: UI_TIMEOUT });
  await page.waitForFunction((id) => {
    const row = document.querySelector(`[data-testid="run-row"][data-run-id="${id}"]`);
    return row && ["success", "failed", "cancelled"].includes(row.dataset.status);
  }, id, { timeout: RUN_TIMEOUT, polling: 250 });
  const status = await row.getAttribute("data-status");
  if (status !== "success") {
    const { body } = await api(`/api/runs/${id}`);
    assert.fail(`run ${id} ended ${status}: ${body.error}`);
  }
  // The badge a person reads, not only the attribute.
  assert.equal((await row.locator('[data-testid="status-badge"]').innerText()).trim(), "success");
  const blocks = row.locator('[data-testid="block-status"]');
  assert.deepEqual(await blocks.evaluateAll((els) => els.map((e) => e.dataset.block)), BLOCKS);
  assert.deepEqual(await blocks.evaluateAll((els) => els.map((e) => e.dataset.status)), BLOCKS.map(() => "success"));
}

/** Wait until the page shows `want` ({version: stage}) for `model`; on timeout, fail with what it shows. */
async function waitForStages(model, want, timeout = UI_TIMEOUT) {
  const read = () => page.evaluate((model) => Object.fromEntries(
    [...document.querySelectorAll(`[data-testid="version-row"][data-model="${model}"]`)].map((r) => [r.dataset.version, r.dataset.stage])), model);
  const deadline = Date.now() + timeout;
  let shown;
  for (;;) {
    shown = await read();
    if (Object.entries(want).every(([v, stage]) => shown[v] === stage)) break;
    if (Date.now() > deadline) assert.fail(`model ${model}: expected stages ${JSON.stringify(want)}, the page shows ${JSON.stringify(shown)}`);
    await page.waitForTimeout(200);
  }
  // The badges a person reads agree with the attributes.
  for (const [v, stage] of Object.entries(want)) assert.deepEqual(await stageOf(model, v), { attr: stage, text: stage });
}

async function stageOf(model, v) {
  const row = versionRow(model, v);
  await row.waitFor();
  return {
    attr: await row.getAttribute("data-stage"),
    text: (await row.locator('[data-testid="stage-badge"]').innerText()).trim(),
  };
}

step("the dashboard loads and lists demo_mlops with its 5 blocks", async () => {
  const res = await page.goto(BASE + "/");
  assert.equal(res.status(), 200);
  assert.match(await page.title(), /ironmage/);
  const card = page.locator(`[data-testid="pipeline"][data-pipeline="${PIPELINE}"]`);
  await card.waitFor();
  const nodes = card.locator('[data-testid="block-node"]');
  assert.deepEqual(await nodes.evaluateAll((els) => els.map((e) => e.dataset.block)), BLOCKS);
  assert.match(await card.innerText(), /synthetic_churn/);
  await page.locator('#conn[data-state="live"]').waitFor();
});

step("invalid variables are rejected by the API and the error is shown", async () => {
  const before = (await api("/api/runs?limit=1000")).body.runs.length;
  const input = page.getByTestId(`vars-${PIPELINE}`);
  await input.fill('{"rows": "lots"}');
  await page.getByTestId(`run-pipeline-${PIPELINE}`).click();
  const toast = page.locator('[data-testid="toast"][data-kind="error"]').filter({ hasText: "rows" });
  await toast.waitFor();
  assert.match(await toast.innerText(), /invalid_input/);
  // Nothing was queued.
  const { body } = await api("/api/runs?limit=1000");
  assert.equal(body.runs.length, before, "a rejected trigger must not create a run");
  await input.fill("");
  await toast.locator("button").click();
});

step("clicking Run starts demo_mlops and the run ends in success with every block", async () => {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/api/pipelines/${PIPELINE}/runs`) && r.request().method() === "POST"),
    page.getByTestId(`run-pipeline-${PIPELINE}`).click(),
  ]);
  assert.equal(response.status(), 202);
  assert.deepEqual(JSON.parse(response.request().postData()), { variables: {} });
  const { run_id } = await response.json();
  assert.match(run_id, /^[0-9a-f]{32}$/);
  ctx.run1 = run_id;
  await waitForRunSuccess(run_id);
}, RUN_TIMEOUT + 30_000);

step("opening the run shows block logs and the dataset preview", async () => {
  await runRow(ctx.run1).click();
  const detail = page.locator(`[data-testid="run-detail"][data-run-id="${ctx.run1}"]`);
  await detail.waitFor();
  assert.equal(await detail.getAttribute("data-status"), "success");
  const logs = detail.locator('[data-testid="block-logs"][data-block="make_dataset"]');
  await logs.waitFor();
  assert.match(await logs.innerText(), /Data Version: data_v_\d{8}_\d{6}/);
  assert.match(await detail.locator('[data-testid="block-logs"][data-block="training"]').innerText(), /AUC Score: 0\.\d+/);
  // The dataset preview renders its rows as a table.
  await detail.locator('[data-testid="preview"][data-block="make_dataset"] > summary').click();
  const table = detail.locator('[data-testid="preview-table"][data-block="make_dataset"]');
  await table.waitFor();
  assert.ok(await table.locator("tbody tr").count() >= 1, "the preview table has rows");
  assert.match(await table.locator("thead").innerText(), /churn/);
});

step("the models section shows churn version 1 in Production with its metrics", async () => {
  const row = versionRow("churn", 1);
  await waitForStages("churn", { 1: "Production" });
  assert.match(await row.getByTestId("metric-auc").innerText(), /^0\.\d{4}$/);
  assert.match(await row.getByTestId("metric-accuracy").innerText(), /^0\.\d{4}$/);
  assert.equal(await row.locator('[data-testid="promote"]').count(), 0, "no promote button on the Production version");
});

step("the lineage of version 1 shows its data hash", async () => {
  await page.locator('[data-testid="lineage-button"][data-model="churn"][data-version="1"]').click();
  const lineage = page.locator('[data-testid="lineage"][data-model="churn"][data-version="1"]');
  const hash = lineage.getByTestId("data-hash");
  await hash.waitFor();
  const text = (await hash.innerText()).trim();
  assert.match(text, /^sha256:[0-9a-f]{64}$/);
  // It is the hash the run logged for its dataset.
  const { body } = await api(`/api/runs/${ctx.run1}`);
  assert.equal(text, body.summary.data_hash);
  assert.match(await lineage.getByTestId("code-lineage").innerText(), /pipelines\/demo_mlops\/pipeline\.yaml#training/);
  assert.match(await lineage.getByTestId("lineage-hyperparameters").innerText(), /n_estimators\s+100/);
  assert.equal((await lineage.getByTestId("prediction-count").innerText()).trim(), "0");
});

step("a second run with seed 7, started through the API, shows up and deploys version 2", async () => {
  const { status, body } = await api(`/api/pipelines/${PIPELINE}/runs`, { method: "POST", body: JSON.stringify({ variables: { seed: 7 } }) });
  assert.equal(status, 202, JSON.stringify(body));
  ctx.run2 = body.run_id;
  await waitForRunSuccess(ctx.run2);
  await waitForStages("churn", { 1: "Archived", 2: "Production" });
}, RUN_TIMEOUT + 30_000);

step("promoting version 1 from the dashboard archives version 2", async () => {
  const button = page.locator('[data-testid="promote"][data-model="churn"][data-version="1"]');
  assert.equal((await button.innerText()).trim(), "Promote to Production");
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/api/models/churn/versions/1/transition")),
    button.click(),
  ]);
  assert.equal(response.status(), 200);
  await waitForStages("churn", { 1: "Production", 2: "Archived" });
  // The open lineage panel follows the stage change.
  await page.locator('[data-testid="lineage"][data-version="1"] [data-testid="stage-badge"][data-stage="Production"]').waitFor();
  // And the server agrees.
  const { body } = await api("/api/models/churn");
  assert.deepEqual(body.versions.map((v) => [v.version, v.stage]), [[2, "Archived"], [1, "Production"]]);
  await page.locator('[data-testid="toast"]').filter({ hasText: "version 1 is now in Production" }).waitFor();
});

step("the triggers panel shows the demo's weekly retraining, and enabling it from the dashboard sticks", async () => {
  const id = "demo_mlops.weekly_retrain";
  const row = page.locator(`[data-testid="trigger-row"][data-trigger="${id}"]`);
  await row.and(page.locator('[data-enabled="false"]')).waitFor({ timeout: UI_TIMEOUT });
  assert.match(await row.innerText(), /cron 0 2 \* \* SUN/);
  await row.getByTestId("trigger-toggle").click();
  await page.locator(`[data-testid="trigger-row"][data-trigger="${id}"][data-enabled="true"]`).waitFor({ timeout: UI_TIMEOUT });
  const { body } = await api(`/api/triggers/${id}`);
  assert.equal(body.enabled, true, JSON.stringify(body));
  await page.locator('[data-testid="toast"]').filter({ hasText: `Trigger ${id} enabled` }).waitFor();
});

step("the page raised no script errors", async () => {
  assert.deepEqual(pageErrors, []);
});
