// End-to-end tests of the web console in headless Debian Chromium, driven by playwright-core.
//
//   node web/e2e/console.mjs            (cargo xtask test runs it after the Rust tests)
//
// It builds nothing: it uses target/debug/gridline (or GRIDLINE_BIN), prepares a data directory with the real
// Shanghai district boundaries, accounts of several roles and a 50,000-point layer, starts `gridline serve` on a
// free port, and drives two browsers through it. Screenshots go to web/e2e/screenshots/. Timings of the map are
// printed, never asserted (the machine is shared and noisy).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
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
const data = mkdtempSync(join(tmpdir(), "gridline-e2e-"));
const env = { ...process.env, GRIDLINE_LANG: "en", GRIDLINE_DATA_DIR: join(data, "db") };
delete env.GRIDLINE_DATABASE_URL;

let failures = 0;
const results = [];
function check(condition, message) {
  if (!condition) { throw new Error(message); }
}
async function test(name, body) {
  const started = Date.now();
  try {
    await body();
    results.push(`PASS ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failures += 1;
    results.push(`FAIL ${name}: ${error && error.stack || error}`);
  }
  console.log(results[results.length - 1]);
}

function gridline(args, input) {
  return execFileSync(bin, args, { env, input, encoding: "utf8" });
}

// ---------------------------------------------------------------------------------------------- the data
gridline(["import", "boundaries", join(root, "crates", "cli", "tests", "fixtures", "shanghai_districts.geojson"), "--level", "district"]);
gridline(["user", "add", "admin1", "--role", "admin", "--password-stdin"], "admin password 123\n");
const adminToken = gridline(["token", "create", "admin1", "--name", "e2e"]).trim();

// 50,000 points spread over central Shanghai: the map must stay smooth with them.
const points = [];
let seed = 42;
function random() { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }
for (let i = 0; i < 50000; i += 1) {
  points.push({ type: "Feature", id: i, geometry: { type: "Point", coordinates: [121.25 + random() * 0.45, 31.05 + random() * 0.35] }, properties: { name: `P${i}` } });
}
const pointsFile = join(data, "points.geojson");
writeFileSync(pointsFile, JSON.stringify({ type: "FeatureCollection", features: points }));
gridline(["import", "layer", pointsFile, "--name", "households", "--title-zh", "住户", "--title-en", "Households"]);

const server = spawn(bin, ["serve", "--bind", "127.0.0.1:0"], { env, stdio: ["ignore", "pipe", "inherit"] });
const base = await new Promise((resolve, reject) => {
  let buffer = "";
  const timer = setTimeout(() => reject(new Error("the server did not start")), 60000);
  server.stdout.on("data", (chunk) => {
    buffer += chunk.toString();
    const match = buffer.match(/listening on (http:\/\/[0-9.:]+)/);
    if (match) { clearTimeout(timer); resolve(match[1]); }
  });
  server.on("exit", (code) => reject(new Error(`the server exited with ${code}`)));
});

async function api(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { "Authorization": `Bearer ${adminToken}`, "Content-Type": "application/json", "Accept-Language": "en" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) { throw new Error(`${method} ${path}: ${response.status} ${text}`); }
  return text ? JSON.parse(text) : null;
}

// A sub-district and two communities inside 徐汇区, with a cadre each and a member in community A.
const districts = await api("GET", "/api/v1/jurisdictions?q=%E5%BE%90%E6%B1%87");
const xuhui = districts.items[0];
const square = (lon, lat, size) => ({ type: "Polygon", coordinates: [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]] });
const tianlin = await api("POST", "/api/v1/jurisdictions", { parent_id: xuhui.id, level: "sub_district", code: "310104011", name_zh: "田林街道", name_en: "Tianlin Sub-district", boundary: square(121.41, 31.16, 0.03) });
const communityA = await api("POST", "/api/v1/jurisdictions", { parent_id: tianlin.id, level: "community", code: "TL-A", name_zh: "田林一村", name_en: "Tianlin No. 1", boundary: square(121.41, 31.16, 0.012) });
const communityB = await api("POST", "/api/v1/jurisdictions", { parent_id: tianlin.id, level: "community", code: "TL-B", name_zh: "田林二村", name_en: "Tianlin No. 2", boundary: square(121.425, 31.16, 0.012) });
await api("POST", "/api/v1/accounts", { username: "cadre.a", display_name: "张社区", password: "cadre a password", grants: [{ role: "community_cadre", jurisdiction_id: communityA.id }] });
await api("POST", "/api/v1/accounts", { username: "cadre.b", display_name: "李社区", password: "cadre b password", grants: [{ role: "community_cadre", jurisdiction_id: communityB.id }] });
await api("POST", "/api/v1/accounts", { username: "officer", display_name: "王值班", password: "officer password", grants: [{ role: "duty_officer", jurisdiction_id: tianlin.id }] });
const memberA = await api("POST", "/api/v1/members", { jurisdiction_id: communityA.id, name: "陈网格", phone: "+8613912345678", roles: ["grid_member"], skills: ["first_aid"], base: { lon: 121.415, lat: 31.165 } });

// ---------------------------------------------------------------------------------------------- the browser
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--lang=zh-CN"],
});
const pageErrors = [];
async function context(options) {
  const ctx = await browser.newContext({ locale: "zh-CN", viewport: { width: 1366, height: 860 }, ...options });
  ctx.on("page", (page) => {
    page.on("pageerror", (error) => pageErrors.push(String(error)));
    page.on("console", (message) => { if (message.type() === "error") { pageErrors.push(message.text()); } });
  });
  return ctx;
}
async function signIn(page, username, password) {
  await page.goto(`${base}/login`);
  await page.fill("#username", username);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/console/), page.click("form button[type=submit].primary")]);
}

const officerContext = await context({});
const officer = await officerContext.newPage();
const cadreContext = await context({});
const cadre = await cadreContext.newPage();

await test("sign in and see the console in Chinese", async () => {
  await signIn(officer, "officer", "officer password");
  check((await officer.getAttribute("html", "lang")) === "zh-CN", "the page is in Chinese");
  check((await officer.textContent("header nav")).includes("指挥台"), "the navigation is in Chinese");
  await officer.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads > 0, null, { timeout: 20000 });
  await officer.screenshot({ path: join(shots, "desktop-zh-CN.png") });
});

await test("switch the language, and the choice persists", async () => {
  await Promise.all([officer.waitForURL(/\/console/), officer.selectOption("#language-select", "en")]);
  check((await officer.getAttribute("html", "lang")) === "en", "the page switched to English");
  check((await officer.textContent("header nav")).includes("Console"), "the navigation is in English");
  await officer.goto(`${base}/members`);
  check((await officer.textContent("h1")).includes("Members"), "the choice persists on the next page");
  await officer.goto(`${base}/console`);
  await officer.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads > 0, null, { timeout: 20000 });
  await officer.screenshot({ path: join(shots, "desktop-en.png") });
});

await test("browse the jurisdiction tree", async () => {
  await officer.goto(`${base}/jurisdictions`);
  const district = officer.locator(".tree a", { hasText: "Xuhui" }).or(officer.locator(".tree a", { hasText: "徐汇区" }));
  await Promise.all([officer.waitForURL(/\/jurisdictions\/\d+/), district.first().click()]);
  check((await officer.textContent("h1")).includes("徐汇区"), "the district page opens");
  await Promise.all([officer.waitForURL(new RegExp(`/jurisdictions/${tianlin.id}$`)), officer.click(`a[href="/jurisdictions/${tianlin.id}"]`)]);
  check((await officer.textContent("h1")).includes("Tianlin Sub-district"), "the sub-district page opens");
  check((await officer.textContent(".crumbs")).includes("徐汇区"), "the breadcrumbs show the district");
  await officer.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads > 0, null, { timeout: 20000 });
});

await test("a change arrives live in another browser through the event stream", async () => {
  await signIn(cadre, "cadre.a", "cadre a password");
  await cadre.waitForSelector("#ticker li.empty");
  // The officer registers a member in community A with a skill; the cadre of A sees it arrive.
  await officer.goto(`${base}/members/new`);
  await officer.fill("#name", "周志愿");
  await officer.selectOption("#jurisdiction_id", String(communityA.id));
  await officer.check('input[name="roles"][value="volunteer"]');
  await officer.fill("#skills", "first_aid, boat_handling");
  await officer.fill("#credential_kind", "first_aid_certificate");
  await officer.fill("#credential_expires_on", "2030-06-30");
  await Promise.all([officer.waitForURL(/\/members\/\d+$/), officer.click("form button[type=submit].primary")]);
  check((await officer.textContent("main")).includes("boat_handling"), "the new member shows the skill");
  await cadre.waitForSelector('#ticker li[data-kind="member.created"]', { timeout: 15000 });
  check((await cadre.textContent("#ticker")).includes("新登记成员"), "the ticker names the event in the reader's language");
  // Edit it: a new status and one skill fewer.
  const memberUrl = officer.url();
  await officer.goto(`${memberUrl}/edit`);
  await officer.fill("#skills", "boat_handling");
  await officer.selectOption("#status", "deployed");
  await Promise.all([officer.waitForURL(new RegExp(memberUrl.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "$")), officer.click("form button[type=submit].primary")]);
  await officer.waitForSelector("main h1");
  const detail = await officer.textContent("main");
  check(detail.includes("boat_handling") && !detail.includes("first_aid,"), `the edit is saved: ${officer.url()} ${detail.replace(/\s+/g, " ").slice(0, 900)}`);
  await cadre.waitForSelector('#ticker li[data-kind="member.updated"]', { timeout: 15000 });
});

await test("an under-privileged user cannot see a confidential field", async () => {
  const otherContext = await context({});
  const other = await otherContext.newPage();
  await signIn(other, "cadre.b", "cadre b password");
  const response = await other.goto(`${base}/members/${memberA.id}`);
  check(response.status() === 403, `cadre B is refused community A's member (got ${response.status()})`);
  check(!(await other.content()).includes("12345678"), "no part of the phone number reaches the page");
  // Cadre A sees the record, with the phone masked until a purpose is given.
  await cadre.goto(`${base}/members/${memberA.id}`);
  const masked = await cadre.textContent("main");
  check(masked.includes("+86139****5678") && !masked.includes("+8613912345678"), "the phone is masked by default");
  await cadre.fill("#purpose", "入户核查");
  await cadre.click("form.reveal button[type=submit]");
  await cadre.waitForSelector('dd[data-personal="revealed"]');
  check((await cadre.textContent("main")).includes("+8613912345678"), "revealed with a purpose");
  await otherContext.close();
});

await test("field view on a 360 px phone: drafts survive a reload, offline is said clearly", async () => {
  for (const locale of ["zh-CN", "en"]) {
    const phoneContext = await context({ locale, viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const phone = await phoneContext.newPage();
    await signIn(phone, "cadre.a", "cadre a password");
    await phone.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads > 0, null, { timeout: 20000 });
    await phone.waitForSelector("#tab-panel table");
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    const wide = await phone.evaluate(() => Array.from(document.querySelectorAll("body *")).filter((e) => e.getBoundingClientRect().right > 362 && !e.closest(".leaflet-container, .table-wrap")).slice(0, 5).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
    check(width <= 362, `the page fits the phone (scroll width ${width}: ${wide.join(", ")})`);
    await phone.screenshot({ path: join(shots, `phone-${locale}.png`) });
    await phone.goto(`${base}/members/new`);
    const button = await phone.locator("form button[type=submit].primary").boundingBox();
    check(button && button.height >= 44, `the main button is a big tap target (${button && button.height} px)`);
    await phone.fill("#name", "草稿测试");
    await phone.fill("#skills", "first_aid");
    await phone.reload();
    check((await phone.inputValue("#name")) === "草稿测试", "the draft is restored after a reload");
    await phone.waitForSelector(".draft-note");
    await phoneContext.setOffline(true);
    await phone.evaluate(() => window.dispatchEvent(new Event("offline")));
    await phone.waitForSelector(".offline-banner.is-offline", { state: "visible" });
    check((await phone.textContent(".offline-banner")).length > 5, "the offline message is shown");
    await phone.screenshot({ path: join(shots, `phone-form-offline-${locale}.png`) });
    await phoneContext.setOffline(false);
    await phoneContext.close();
  }
});

await test("the map stays responsive with 50,000 points", async () => {
  const mapContext = await context({ locale: "en" });
  const page = await mapContext.newPage();
  await signIn(page, "officer", "officer password");
  await page.goto(`${base}/jurisdictions`);
  await page.waitForSelector(".leaflet-control-layers-overlays label");
  const started = Date.now();
  await page.evaluate(() => {
    const inputs = Array.from(document.querySelectorAll(".leaflet-control-layers-overlays label"));
    const households = inputs.find((label) => label.textContent.includes("Households"));
    if (households) { households.querySelector("input").click(); }
  });
  await page.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads >= 2, null, { timeout: 30000 });
  const firstRender = Date.now() - started;
  const stats = await page.evaluate(() => window.gridlineMapStats);
  // Pan frame time: frames drawn while the map pans.
  const frames = await page.evaluate(() => new Promise((resolve) => {
    const map = document.getElementById("map").gridlineMap;
    const times = [];
    let last = performance.now();
    let count = 0;
    function frame(now) {
      times.push(now - last);
      last = now;
      count += 1;
      if (count < 60) { map.panBy([8, 4], { animate: false }); requestAnimationFrame(frame); } else { resolve(times); }
    }
    requestAnimationFrame(frame);
  }));
  frames.sort((a, b) => a - b);
  const median = frames[Math.floor(frames.length / 2)];
  const p95 = frames[Math.floor(frames.length * 0.95)];
  console.log(`map with 50,000 points: layer shown in ${firstRender} ms (server answer ${stats.lastLoadMs} ms, ${stats.features} features drawn after aggregation); pan frames median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
  check(stats.features > 0 && stats.features < 5000, `the view is aggregated server-side (${stats.features} features)`);
  await page.screenshot({ path: join(shots, "map-50000-points.png") });
  await mapContext.close();
});

await test("the main pages pass the WCAG 2 A and AA checks of axe-core", async () => {
  const axeSource = readFileSync(join(here, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");
  // axe is injected for the check only; the pages themselves keep their strict policy.
  const checkContext = await context({ bypassCSP: true });
  const page = await checkContext.newPage();
  await signIn(page, "officer", "officer password");
  const problems = [];
  for (const path of ["/console", "/members", "/members/new", `/members/${memberA.id}`, "/jurisdictions", `/jurisdictions/${tianlin.id}`, "/organizations", "/teams", "/account"]) {
    await page.goto(`${base}${path}`);
    await page.waitForLoadState("networkidle");
    await page.evaluate(axeSource);
    const result = await page.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } }));
    for (const violation of result.violations) {
      if (violation.impact === "serious" || violation.impact === "critical") {
        problems.push(`${path}: ${violation.id} (${violation.impact}) on ${violation.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`);
      }
    }
  }
  await checkContext.close();
  check(problems.length === 0, `accessibility problems:\n  ${problems.join("\n  ")}`);
});

await browser.close();
server.kill("SIGTERM");
const unexpected = pageErrors.filter((e) => !e.includes("net::ERR_INTERNET_DISCONNECTED") && !e.includes("Failed to load resource: the server responded with a status of 403"));
if (unexpected.length) {
  failures += 1;
  console.log(`FAIL pages logged errors: ${unexpected.join(" | ")}`);
}
console.log(`${results.length} browser tests, ${failures} failed; screenshots in ${shots}`);
process.exit(failures ? 1 : 0);
