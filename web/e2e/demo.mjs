// The README's first command, in a real browser: `gridline demo` builds the Porto demo and serves it; a duty
// officer signs in with a printed account and sees the map of Porto (roads, buildings, water, facilities), its
// jurisdictions, members and the depots' stock, in Chinese and in English.
//
//   node web/e2e/demo.mjs            (cargo xtask test runs it after the Rust tests)
//
// It uses target/debug/gridline (or GRIDLINE_BIN) and Debian's Chromium (CHROMIUM). Screenshots go to
// web/e2e/screenshots/.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const bin = process.env.GRIDLINE_BIN || join(root, "target", "debug", "gridline");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });
const data = mkdtempSync(join(tmpdir(), "gridline-demo-e2e-"));

const env = { ...process.env, GRIDLINE_LANG: "en", GRIDLINE_LOG: "warn" };
delete env.GRIDLINE_DATABASE_URL;
delete env.GRIDLINE_CONFIG;
delete env.GRIDLINE_DATA_DIR;

let failures = 0;
function check(condition, message) {
  if (!condition) { throw new Error(message); }
}
async function test(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`PASS ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures += 1;
    console.log(`FAIL ${name}: ${error && error.stack || error}`);
  }
}

// `gridline demo`, exactly as the README says, in a fresh data directory; the accounts come from its output.
const began = Date.now();
const server = spawn(bin, ["--data-dir", join(data, "demo"), "demo", "--bind", "127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "inherit"] });
let output = "";
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`the demo did not start within 120 s:\n${output}`)), 120000);
  server.stdout.on("data", (chunk) => {
    output += chunk;
    const match = /listening on (http:\/\/[0-9.:]+)/.exec(output);
    if (match) { clearTimeout(timer); resolve(match[1]); }
  });
  server.on("exit", (code) => reject(new Error(`the demo exited with ${code}:\n${output}`)));
});
console.log(`the demo was built and serving after ${((Date.now() - began) / 1000).toFixed(1)} s (debug build)`);
const accounts = {};
for (const match of output.matchAll(/^(.+): (\w+) \/ (\S+)$/gm)) { accounts[match[2]] = match[3]; }

const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=zh-CN"],
});
const pageErrors = [];
const context = await browser.newContext({ locale: "zh-CN", viewport: { width: 1366, height: 860 } });
context.on("page", (page) => {
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => { if (message.type() === "error") { pageErrors.push(message.text()); } });
});
const page = await context.newPage();

// The names of the layers drawn on the map right now, and how many shapes each has.
async function drawn() {
  return page.evaluate(() => {
    const map = document.getElementById("map").gridlineMap;
    const shown = {};
    document.querySelectorAll(".leaflet-control-layers-overlays label").forEach((label) => {
      const input = label.querySelector("input");
      shown[label.textContent.trim()] = input.checked;
    });
    let shapes = 0;
    map.eachLayer(() => { shapes += 1; });
    return { shown, shapes };
  });
}

await test("the printed accounts are one per role", async () => {
  for (const username of ["officer", "cadre", "grid", "liaison", "volunteer", "enterprise", "resident"]) {
    check(accounts[username], `an account for ${username} in:\n${output}`);
  }
});

await test("the duty officer sees Porto: its map, jurisdictions, facilities and members, in Chinese", async () => {
  await page.goto(`${base}/login`);
  await page.fill("#username", "officer");
  await page.fill("#password", accounts.officer);
  await Promise.all([page.waitForURL(/\/console/), page.click("form button[type=submit].primary")]);
  check((await page.getAttribute("html", "lang")) === "zh-CN", "the page is in Chinese");
  // Nine layers open with the map: boundaries, members, sensors, roads, buildings, water, facilities, shelters, depots.
  await page.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads >= 9, null, { timeout: 30000 });
  const { shown, shapes } = await drawn();
  for (const title of ["道路", "建筑", "水系", "设施", "辖区边界", "应急物资储备（演示）", "避难场所（估算容量）（演示）", "监测传感器"]) {
    check(Object.keys(shown).some((name) => name.includes(title) && shown[name]), `the layer ${title} is shown: ${JSON.stringify(shown)}`);
  }
  check(shapes > 300, `the map draws the city (${shapes} shapes)`);
  const members = await page.textContent("#tab-panel, .tab-panel, main");
  check(/网格员|Grid member/.test(members), "the member list shows grid members");
  await page.screenshot({ path: join(shots, "demo-zh-CN.png") });
});

await test("a depot's stock and a shelter's capacity open from the map", async () => {
  const popups = await page.evaluate(() => {
    const map = document.getElementById("map").gridlineMap;
    const found = {};
    map.eachLayer((layer) => {
      const properties = layer.feature && layer.feature.properties;
      if (!properties) { return; }
      if (properties.stock && !found.stock) { layer.openPopup(); found.stock = document.querySelector(".leaflet-popup-content").textContent; }
      else if (properties.capacity && !found.capacity && !found.stock) { found.capacityName = properties.name; }
    });
    return found;
  });
  check(popups.stock && /sandbags/.test(popups.stock) && /water pumps/.test(popups.stock), `a depot's popup lists its stock: ${JSON.stringify(popups)}`);
});

await test("the jurisdiction tree comes from the extract's parishes, in English too", async () => {
  await page.selectOption("#language-select", "en");
  await page.waitForSelector('html[lang="en"]', { timeout: 20000 });
  await page.goto(`${base}/jurisdictions`);
  const tree = await page.textContent("main");
  check(tree.includes("Porto (demo)"), "the city");
  for (const parish of ["Sé", "Vitória", "Miragaia", "São Nicolau"]) {
    check(tree.includes(parish), `the parish ${parish} is a sub-district`);
  }
  await page.goto(`${base}/members?role=volunteer`);
  check(/Volunteer/.test(await page.textContent("main")), "volunteers are listed");
  await page.goto(`${base}/plans`);
  const plans = await page.textContent("main");
  for (const plan of ["ainstorm", "yphoon", "fire", "as leak", "nfectious", "rowd"]) {
    check(plans.includes(plan), `a plan for ${plan}: ${plans.slice(0, 400)}`);
  }
  await page.goto(`${base}/console`);
  await page.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads >= 6, null, { timeout: 30000 });
  await page.screenshot({ path: join(shots, "demo-en.png") });
});

await browser.close();
server.kill("SIGTERM");
const unexpected = pageErrors.filter((e) => !e.includes("net::ERR_INTERNET_DISCONNECTED"));
if (unexpected.length) {
  failures += 1;
  console.log(`FAIL pages logged errors: ${unexpected.join(" | ")}`);
}
console.log(`demo browser tests: ${failures} failed; screenshots in ${shots}`);
process.exit(failures ? 1 : 0);
