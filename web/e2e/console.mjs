// End-to-end tests of the web console in headless Debian Chromium, driven by playwright-core.
//
//   node web/e2e/console.mjs            (cargo xtask test runs it after the Rust tests)
//
// It builds nothing: it uses target/debug/gridline (or GRIDLINE_BIN), prepares a data directory with the real
// Shanghai district boundaries, accounts of several roles and a 50,000-point layer, starts `gridline serve` on a
// free port, and drives two browsers through it. Screenshots go to web/e2e/screenshots/. Timings of the map are
// printed, never asserted (the machine is shared and noisy). A small HTTP server stands in for the SMS gateway, so
// that the acknowledgement links in the texts can be opened; door-knocks are due at once after a red warning.
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
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

// The SMS gateway: every text Gridline sends, as posted ({"to", "text", "id"}).
const texts = [];
const smsGateway = createServer((request, response) => {
  let body = "";
  request.on("data", (chunk) => { body += chunk; });
  request.on("end", () => {
    try { texts.push(JSON.parse(body)); } catch { texts.push({ text: body }); }
    response.writeHead(202, { "Content-Length": "0" }).end();
  });
});
await new Promise((resolve) => smsGateway.listen(0, "127.0.0.1", resolve));
// One configuration for every command and the server: door-knocks on red warnings are due right after issue (the
// default is 30 minutes, too long to wait for), and texts go to the gateway above.
const config = join(data, "gridline.toml");
writeFileSync(config, [
  "[warnings]",
  'public_url = "http://gridline.test"',
  "door_knock_after_minutes = { red = 0 }",
  "",
  "[delivery]",
  `sms_gateway_url = "http://127.0.0.1:${smsGateway.address().port}/sms"`,
  "",
].join("\n"));
const env = { ...process.env, GRIDLINE_LANG: "en", GRIDLINE_DATA_DIR: join(data, "db"), GRIDLINE_CONFIG: config };
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
// A second administrator: the person who drafts a warning cannot approve it.
gridline(["user", "add", "admin2", "--role", "admin", "--password-stdin"], "admin2 password 123\n");
const approverToken = gridline(["token", "create", "admin2", "--name", "e2e"]).trim();

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

async function api(method, path, body, token = adminToken) {
  const csv = typeof body === "string";
  const response = await fetch(base + path, {
    method,
    headers: { "Authorization": `Bearer ${token}`, "Content-Type": csv ? "text/csv; charset=utf-8" : "application/json", "Accept-Language": "en" },
    body: body === undefined ? undefined : csv ? body : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) { throw new Error(`${method} ${path}: ${response.status} ${text}`); }
  return text ? JSON.parse(text) : null;
}
function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }
// A `datetime-local` value `hours` from now in the console's time zone (Asia/Shanghai, UTC+8 all year).
function shanghaiLocal(hours) { return new Date(Date.now() + (hours + 8) * 3600000).toISOString().slice(0, 16); }

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

// The gas utility's pipelines: restricted, promised every 36 s (so that it is out of date by the time its test runs),
// shared with duty officers for one field.
const gasOrg = await api("POST", "/api/v1/organizations", { kind: "department", sector: "gas", code: "gas-utility", name_zh: "燃气公司", name_en: "Gas utility", jurisdiction_id: tianlin.id });
await api("POST", "/api/v1/accounts", { username: "gas.liaison", display_name: "燃气联络员", password: "gas liaison password", grants: [{ role: "department_liaison", jurisdiction_id: tianlin.id, organization_id: gasOrg.id }] });
await api("PUT", "/api/v1/datasets/gas-pipelines", { title_zh: "燃气管网", title_en: "Gas pipelines", kind: "gas_pipelines", classification: "restricted", organization_id: gasOrg.id, update_interval_hours: 0.01,
  fields: [{ name: "material", type: "text", classification: "restricted" }, { name: "pressure_kpa", type: "number", unit: "kPa", classification: "confidential" }] });
await api("POST", "/api/v1/datasets/gas-pipelines/features", { upsert: [{ type: "Feature", id: "gp-1", geometry: { type: "LineString", coordinates: [[121.412, 31.163], [121.416, 31.166]] }, properties: { material: "PE", pressure_kpa: 400 } }] });
await api("POST", "/api/v1/datasets/gas-pipelines/policies", { role: "duty_officer", fields: ["material"] });
const gasDeclaredAt = Date.now();

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
const phoneOptions = { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
// The page has no horizontal scrolling on a 360 px phone (the map and wide tables scroll inside themselves).
async function checkFitsPhone(page) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  const wide = await page.evaluate(() => Array.from(document.querySelectorAll("body *")).filter((e) => e.getBoundingClientRect().right > 362 && !e.closest(".leaflet-container, .table-wrap")).slice(0, 5).map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
  check(width <= 362, `${new URL(page.url()).pathname} fits the phone (scroll width ${width}: ${wide.join(", ")})`);
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
  // The page is already on /console: wait for the reloaded page to be in English, not for the address.
  await officer.selectOption("#language-select", "en");
  await officer.waitForSelector('html[lang="en"]', { timeout: 20000 });
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
  // With more than five layers the switcher starts collapsed: its labels are there, not shown.
  await page.waitForSelector(".leaflet-control-layers-overlays label", { state: "attached" });
  const started = Date.now();
  await page.evaluate(() => {
    const inputs = Array.from(document.querySelectorAll(".leaflet-control-layers-overlays label"));
    const households = inputs.find((label) => label.textContent.includes("Households"));
    if (households) { households.querySelector("input").click(); }
  });
  // Other layers load too: wait for the households' own answer.
  await page.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.byLayer.households !== undefined, null, { timeout: 30000 });
  const firstRender = Date.now() - started;
  const stats = await page.evaluate(() => window.gridlineMapStats);
  stats.features = stats.byLayer.households;
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

let drawnWarningId = null;
let fieldWarningId = null;
let fieldGridId = null;
let ackPath = null;

await test("draft a warning by drawing its area on the map", async () => {
  const adminContext = await context({ locale: "en" });
  const page = await adminContext.newPage();
  await signIn(page, "admin1", "admin password 123");
  await page.goto(`${base}/warnings/new`);
  await page.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads > 0, null, { timeout: 20000 });
  await page.selectOption("#jurisdiction_id", String(tianlin.id));
  await page.selectOption("#level", "orange");
  await page.selectOption("#hazard", "rainstorm");
  await page.fill("#headline_zh", "暴雨橙色预警（地图绘制）");
  await page.fill("#description_zh", "预计未来6小时内田林街道累计降雨量将达50毫米以上。");
  await page.fill("#instruction_zh", "低洼地区和地下空间的居民做好转移准备。");
  await page.fill("#expires_at", shanghaiLocal(6));
  // Escape leaves drawing mode without drawing anything.
  const draw = page.locator('[data-draw="polygon"]');
  await draw.click();
  check((await draw.getAttribute("aria-pressed")) === "true", "the draw button is pressed while drawing");
  check((await page.textContent("#draw-status")).trim().length > 0, "a hint says how to draw");
  await page.keyboard.press("Escape");
  check((await draw.getAttribute("aria-pressed")) === "false" && (await page.inputValue("#area_geojson")) === "", "Escape cancels the drawing");
  // Four corners, then the first one again.
  await draw.click();
  await page.locator("#map").scrollIntoViewIfNeeded();
  const box = await page.locator("#map").boundingBox();
  const corners = [[0.35, 0.35], [0.6, 0.3], [0.65, 0.65], [0.35, 0.6]].map(([x, y]) => [box.x + box.width * x, box.y + box.height * y]);
  for (const [x, y] of corners) { await page.mouse.click(x, y); }
  await page.mouse.click(corners[0][0], corners[0][1]);
  const drawn = JSON.parse((await page.inputValue("#area_geojson")) || "null");
  const ring = drawn && drawn.coordinates && drawn.coordinates[0];
  check(drawn && drawn.type === "Polygon" && ring.length === 5, `the area is a ring of four corners: ${JSON.stringify(drawn)}`);
  check(ring[0][0] === ring[4][0] && ring[0][1] === ring[4][1], "the ring is closed");
  check(ring.every(([lon, lat]) => lon > 120 && lon < 123 && lat > 30 && lat < 32.5), `the corners are longitude, latitude in Shanghai: ${JSON.stringify(ring)}`);
  check((await draw.getAttribute("aria-pressed")) === "false", "drawing mode ends with the ring");
  await page.screenshot({ path: join(shots, "warning-form.png") });
  // The drawing is part of the draft: it survives a reload, and so does the kind of message.
  await page.reload();
  check((await page.inputValue("#area_geojson")) === JSON.stringify(drawn), "the drawn area is restored after a reload");
  check(await page.isChecked('input[name="status"][value="Actual"]'), "the kind of message is restored as it was");
  check((await page.textContent("#draw-status")).trim().length > 0, "the restored area is drawn and said");
  await Promise.all([page.waitForURL(/\/warnings\/\d+$/), page.click("#warning-form button[type=submit].primary")]);
  check((await page.textContent("h1")).includes("暴雨橙色预警（地图绘制）"), "the warning page shows the headline");
  drawnWarningId = Number(page.url().match(/\/warnings\/(\d+)$/)[1]);
  const stored = await api("GET", `/api/v1/warnings/${drawnWarningId}`);
  check(stored.state === "draft" && stored.level === "orange", `a draft is saved: ${stored.state} ${stored.level}`);
  check(stored.area.type === "Polygon" && JSON.stringify(stored.area.coordinates) === JSON.stringify(drawn.coordinates), `the stored area is the drawn polygon: ${JSON.stringify(stored.area)}`);
  await page.waitForSelector('#map[data-area-drawn="true"]');
  await page.screenshot({ path: join(shots, "warning-detail.png") });
  await adminContext.close();

  const phoneContext = await context({ locale: "en", ...phoneOptions });
  const phone = await phoneContext.newPage();
  await signIn(phone, "admin1", "admin password 123");
  for (const [path, name] of [["/warnings/new", "warning-form-phone"], [`/warnings/${drawnWarningId}`, "warning-detail-phone"]]) {
    await phone.goto(`${base}${path}`);
    await phone.waitForFunction(() => window.gridlineMapStats && window.gridlineMapStats.loads > 0, null, { timeout: 20000 });
    await checkFitsPhone(phone);
    await phone.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }
  await phoneContext.close();
});

await test("a grid member closes a door-knock in the field view on a phone", async () => {
  // A grid in community A with two households (one on the vulnerable-resident register) and its grid member.
  const grid = await api("POST", "/api/v1/jurisdictions", {
    parent_id: communityA.id, level: "grid", code: "TL-A1", name_zh: "田林一村第一网格", name_en: "Tianlin No. 1, grid 1",
    boundary: { type: "MultiPolygon", coordinates: [square(121.411, 31.161, 0.005).coordinates] },
  });
  const imported = await api("POST", "/api/v1/households/import", [
    "code,grid_code,address,lon,lat,residents,phone,email,language,vulnerable_needs,vulnerable_consent",
    "TL-A1-101,TL-A1,田林路1号101室,121.4125,31.1625,1,13900000001,,zh-CN,独居老人，行动不便,yes",
    "TL-A1-102,TL-A1,田林路1号102室,121.4135,31.1625,3,13900000002,,en,,",
    "",
  ].join("\n"));
  check(imported.imported === 2 && imported.vulnerable === 1 && imported.rejected.length === 0, `two households, one vulnerable: ${JSON.stringify(imported)}`);
  const gridMember = await api("POST", "/api/v1/members", { jurisdiction_id: grid.id, name: "林网格", roles: ["grid_member"], base: { lon: 121.5, lat: 31.3 } });
  await api("POST", "/api/v1/accounts", { username: "grid.a1", display_name: "林网格", password: "grid member password", member_id: gridMember.id, grants: [{ role: "grid_member", jurisdiction_id: grid.id }] });

  // A red warning over the grid: drafted by one administrator, approved by the other, issued.
  const draft = await api("POST", "/api/v1/warnings/drafts", {
    jurisdiction_id: tianlin.id, level: "red", hazard: "rainstorm",
    headline_zh: "暴雨红色预警", headline_en: "Red rainstorm warning",
    description_zh: "预计未来3小时内降雨量将达100毫米以上。", description_en: "More than 100 mm of rain is expected within three hours.",
    instruction_zh: "停止户外活动，低洼地区居民立即转移。", instruction_en: "Stop outdoor activities; people in low-lying areas move to higher ground now.",
    area: square(121.41, 31.16, 0.008), area_desc: "田林一村",
    expires_at: new Date(Date.now() + 6 * 3600000).toISOString().replace(/\.\d+Z$/, "Z"),
  });
  const own = await api("POST", `/api/v1/warnings/${draft.id}/approve`, { version: draft.version }).then(() => null, (error) => error);
  check(own && own.message.includes("403"), `the drafter cannot approve: ${own}`);
  const approved = await api("POST", `/api/v1/warnings/${draft.id}/approve`, { version: draft.version }, approverToken);
  check(approved.state === "approved", `approved by the second person: ${approved.state}`);
  const issued = await api("POST", `/api/v1/warnings/${draft.id}/issue`, { version: approved.version });
  check(issued.state === "issued", `issued: ${issued.state}`);
  fieldWarningId = issued.id;
  fieldGridId = grid.id;

  // The escalation pass (every 15 s) turns the vulnerable household that has not acknowledged into a door-knock.
  let task = null;
  const deadline = Date.now() + 60000;
  while (!task && Date.now() < deadline) {
    const tasks = await api("GET", `/api/v1/tasks?warning_id=${issued.id}`);
    task = tasks.items.find((t) => t.kind === "door_knock") || null;
    if (!task) { await sleep(1000); }
  }
  check(task, "a door-knock task appears within a minute of issue");
  check(task.owner_member_id === gridMember.id, `the grid member owns it (owner ${task.owner_member_id})`);

  const phoneContext = await context(phoneOptions);
  const phone = await phoneContext.newPage();
  await signIn(phone, "grid.a1", "grid member password");
  await phone.goto(`${base}/tasks`);
  const card = phone.locator(`[data-testid="my-tasks"] a[href="/tasks/${task.id}"]`);
  await card.waitFor();
  const cardBox = await card.boundingBox();
  check(cardBox && cardBox.height >= 48 && cardBox.width >= 300, `the whole card is a big tap target (${cardBox && `${cardBox.width}×${cardBox.height}`} px)`);
  await checkFitsPhone(phone);
  await phone.screenshot({ path: join(shots, "tasks-phone.png"), fullPage: true });
  await Promise.all([phone.waitForURL(new RegExp(`/tasks/${task.id}$`)), card.tap()]);
  check((await phone.textContent('[data-testid="household-address"]')).includes("田林路1号101室"), "the task shows the household's address");
  const done = phone.locator('form.task-close button[name="status"][value="done"]');
  const doneBox = await done.boundingBox();
  check(doneBox && doneBox.height >= 48, `the done button is a big tap target (${doneBox && doneBox.height} px)`);
  await checkFitsPhone(phone);
  await phone.screenshot({ path: join(shots, "task-phone.png"), fullPage: true });
  await Promise.all([phone.waitForURL(/\/tasks$/), done.tap()]);
  check((await phone.locator(`[data-testid="my-tasks"] a[href="/tasks/${task.id}"]`).count()) === 0, "the done task has left my list");
  const closed = await api("GET", `/api/v1/tasks/${task.id}`);
  check(closed.status === "done", `the task is done (${closed.status})`);
  await phoneContext.close();
});

await test("a household acknowledges through the link in its text, and the reach map follows live", async () => {
  check(fieldWarningId, "a warning was issued by the previous test");
  // The console's warning page: the area in the level's colour and reach by grid, refreshed every 5 s.
  const deskContext = await context({ locale: "en" });
  const desk = await deskContext.newPage();
  await signIn(desk, "admin1", "admin password 123");
  await desk.goto(`${base}/warnings/${fieldWarningId}`);
  await desk.waitForSelector('#map[data-area-drawn="true"][data-reach-grids]', { timeout: 20000 });
  check(Number(await desk.getAttribute("#map", "data-reach-grids")) >= 1, "the grids are drawn on the map");
  const acknowledged = Number(await desk.textContent('[data-testid="reach-acknowledged"]'));
  const draws = Number(await desk.getAttribute("#map", "data-reach-draws"));

  // The second household's text, as the gateway got it, carries its acknowledgement link.
  let text = null;
  const deadline = Date.now() + 30000;
  while (!text && Date.now() < deadline) {
    text = texts.find((t) => t.to === "13900000002") || null;
    if (!text) { await sleep(500); }
  }
  check(text, `the household got a text (texts to ${texts.map((t) => t.to).join(", ")})`);
  const link = /http:\/\/gridline\.test(\/ack\/\S+)/.exec(text.text);
  check(link, `the text has an acknowledgement link: ${text.text}`);
  ackPath = link[1];

  const residentContext = await context({ locale: "zh-CN", ...phoneOptions });
  const resident = await residentContext.newPage();
  await resident.goto(`${base}${ackPath}`);
  check((await resident.textContent("h1")).includes("暴雨红色预警"), "the link opens the warning");
  const button = await resident.locator("form button.primary").boundingBox();
  check(button && button.height >= 48, `the acknowledge button is a big tap target (${button && button.height} px)`);
  await checkFitsPhone(resident);
  await resident.screenshot({ path: join(shots, "ack-phone.png"), fullPage: true });
  await resident.locator("form button.primary").tap();
  await resident.waitForSelector('[data-testid="ack-done"]');
  await resident.screenshot({ path: join(shots, "ack-done-phone.png"), fullPage: true });
  await resident.goto(`${base}/public/warnings`);
  check((await resident.textContent("main")).includes("暴雨红色预警"), "the public page lists the warning in force");
  check(!(await resident.content()).includes("田林路"), "no household's address reaches the public page");
  await checkFitsPhone(resident);
  await resident.screenshot({ path: join(shots, "public-warnings-phone.png"), fullPage: true });
  await residentContext.close();

  // The console's page follows without a reload: the figure, and the map.
  await desk.waitForFunction((n) => Number(document.querySelector('[data-testid="reach-acknowledged"]').textContent) === n, acknowledged + 1, { timeout: 20000 });
  await desk.waitForFunction((n) => Number(document.getElementById("map").getAttribute("data-reach-draws")) > n, draws, { timeout: 20000 });
  await desk.screenshot({ path: join(shots, "warning-reach.png") });

  // The review's injection: a cadre names the grid with markup. On the officer's reach map it is text, never
  // elements (the CSP stopped the script, but the markup became live elements of the tooltip).
  const gridNow = await api("GET", `/api/v1/jurisdictions/${fieldGridId}`);
  const markup = '<img src=x id=injected-by-name><b id=bold-by-name>grid</b>';
  await api("PATCH", `/api/v1/jurisdictions/${fieldGridId}`, { version: gridNow.version, name_en: markup });
  const drawsBefore = Number(await desk.getAttribute("#map", "data-reach-draws"));
  await desk.waitForFunction((n) => Number(document.getElementById("map").getAttribute("data-reach-draws")) > n, drawsBefore, { timeout: 20000 });
  // The map draws on a canvas: open every reach grid's tooltip as a hover would, and read what they hold.
  await desk.evaluate(() => {
    const map = document.getElementById("map").gridlineMap;
    map.eachLayer((layer) => {
      if (layer.feature && layer.getTooltip && layer.getTooltip() && layer.getBounds) { layer.openTooltip(layer.getBounds().getCenter()); }
    });
  });
  const seen = await desk.locator(".leaflet-tooltip").allTextContents();
  const shown = seen.find((text) => text.includes("injected-by-name")) || null;
  check(shown && shown.includes(markup), `the grid's name shows as the text it is: ${shown} (tooltips seen: ${JSON.stringify(seen)})`);
  check((await desk.locator("#injected-by-name, #bold-by-name").count()) === 0, "no element was made from the name");
  await api("PATCH", `/api/v1/jurisdictions/${fieldGridId}`, { version: gridNow.version + 1, name_en: "Tianlin No. 1, grid 1" });
  await deskContext.close();
});

await test("a sensor's chart, its refused readings, and a rule tested against the last day before it is saved", async () => {
  await api("POST", "/api/v1/sensors", { code: "gauge-e2e", kind: "rain_gauge", quantity: "rainfall_1h", unit: "mm/h", lon: 121.415, lat: 31.165, interval_seconds: 60, min_value: 0, max_value: 500 });
  // Two hours of minute readings: light rain, then 40 minutes above 30 mm/h; and two readings the sensor cannot give.
  const now = Date.now() - 60000;
  const readings = [];
  for (let m = 119; m >= 0; m -= 1) {
    readings.push({ sensor: "gauge-e2e", at: new Date(now - m * 60000).toISOString(), value: m < 40 ? 35 + (m % 5) : 5 + (m % 7), unit: "mm/h" });
  }
  readings.push({ sensor: "gauge-e2e", at: new Date(now).toISOString(), value: 12, unit: "in/h" });
  readings.push({ sensor: "gauge-e2e", at: new Date(now).toISOString(), value: 9999 });
  const stored = await api("POST", "/api/v1/observations", { readings });
  check(stored.accepted === 120 && stored.rejected.length === 2, `readings stored: ${JSON.stringify(stored)}`);
  await officer.goto(`${base}/sensors`);
  await Promise.all([officer.waitForURL(/\/sensors\/gauge-e2e/), officer.click("a[href='/sensors/gauge-e2e']")]);
  await officer.waitForSelector("#sensor-chart[data-chart-ready=true] canvas", { timeout: 15000 });
  // Over a day, 300 buckets of 288 s: the two hours of readings fill 25 or 26 of them.
  const dayPoints = Number(await officer.getAttribute("#sensor-chart", "data-points"));
  check(dayPoints >= 25 && dayPoints <= 26, `the day chart's buckets: ${dayPoints}`);
  // Over six hours, buckets of 72 s: about one reading each.
  await Promise.all([officer.waitForURL(/hours=6$/), officer.click("nav.segmented a[href='?hours=6']")]);
  await officer.waitForSelector("#sensor-chart[data-chart-ready=true] canvas", { timeout: 15000 });
  const points = Number(await officer.getAttribute("#sensor-chart", "data-points"));
  check(points >= 99 && points <= 120, `the six-hour chart's buckets: ${points}`);
  const refused = await officer.textContent("main");
  // The officer chose English earlier in this run.
  check(refused.includes("wrong unit") || refused.includes("单位错误"), "the refused reading in the wrong unit is shown with its reason");
  check(refused.includes("impossible value") || refused.includes("数值超出传感器量程"), "the impossible reading is shown with its reason");
  check(!/\b(sensor|ingest|ui)\.[a-z_.]+/.test(refused), `no catalog key is shown raw: ${refused.match(/\b(sensor|ingest|ui)\.[a-z_.]+/)}`);
  await officer.screenshot({ path: join(shots, "sensor-chart.png"), fullPage: true });
  // The rule, tested against the readings already stored: it would have fired once; nothing is saved by the test.
  await officer.goto(`${base}/rules`);
  const rule = ["code: e2e-rain", "title_zh: 雨量持续超限（测试）", "title_en: Sustained rain (test)", "sensors: { codes: [gauge-e2e] }",
    "condition: { above: 30, for_minutes: 10, hysteresis: 5 }", "actions:", "  draft_warning: { level: orange, hazard: rainstorm }", ""].join("\n");
  await officer.fill("#document", rule);
  await Promise.all([officer.waitForURL(/\/rules\/dry-run/), officer.click("#dry-run")]);
  const rows = await officer.$$eval("#dry-run-result tbody tr", (trs) => trs.map((tr) => tr.textContent));
  check(rows.length === 1 && rows[0].includes("sensor:gauge-e2e"), `one episode would have fired: ${rows.join(" | ")}`);
  check((await api("GET", "/api/v1/rules")).every((r) => r.code !== "e2e-rain"), "a dry run saves nothing");
  check((await officer.inputValue("#document")).includes("code: e2e-rain"), "the editor keeps the text");
  await officer.screenshot({ path: join(shots, "rule-dry-run.png"), fullPage: true });
  await Promise.all([officer.waitForURL(/\/rules\/e2e-rain$/), officer.click("#rule-editor button.primary")]);
  const heading = await officer.textContent("h1");
  check(heading.includes("Sustained rain (test)") || heading.includes("雨量持续超限"), `the saved rule's page: ${heading}`);
  // A malformed rule is refused with its line, and the text stays in the editor.
  await officer.goto(`${base}/rules`);
  await officer.fill("#document", rule.replace("condition:", "conditon:"));
  await officer.click("#dry-run");
  await officer.waitForSelector("#form-errors");
  const said = await officer.textContent("#form-errors");
  check(said.includes("5") && said.includes("conditon"), `the error names the line and the field: ${said}`);
  check((await officer.inputValue("#document")).includes("conditon:"), "the text stays");
});

await test("the owner department sees who read its data, and its out-of-date dataset is flagged", async () => {
  // The duty officer reads the pipelines (the policy shows the material, never the pressure).
  const read = await officer.evaluate(async () => (await fetch("/api/v1/datasets/gas-pipelines/features")).json());
  check(read.features.length === 1 && read.features[0].properties.material === "PE" && !("pressure_kpa" in read.features[0].properties), `the officer's read: ${JSON.stringify(read)}`);
  const ownerContext = await context({});
  const owner = await ownerContext.newPage();
  await signIn(owner, "gas.liaison", "gas liaison password");
  // The worker flags it within a beat (15 s) of its interval (36 s) running out.
  const deadline = gasDeclaredAt + 36000 + 40000;
  let flagged = false;
  while (!flagged && Date.now() < deadline) {
    await owner.goto(`${base}/data`);
    flagged = (await owner.$("tr.stale .stale-flag")) !== null;
    if (!flagged) { await sleep(2000); }
  }
  check(flagged, "the catalogue flags the out-of-date dataset");
  await owner.screenshot({ path: join(shots, "data-catalogue.png"), fullPage: true });
  await Promise.all([owner.waitForURL(/\/data\/gas-pipelines$/), owner.click("a[href='/data/gas-pipelines']")]);
  check((await owner.$("p.stale-flag")) !== null, "the dataset's page says it is out of date");
  const log = await owner.$$eval("#access-log ~ .table-wrap tbody tr", (rows) => rows.map((r) => r.textContent));
  check(log.some((row) => row.includes("王值班") && (row.includes("共享规则") || row.includes("sharing policy")) && row.includes("material")), `the owner's access log: ${log.join(" | ")}`);
  await owner.screenshot({ path: join(shots, "dataset-access-log.png"), fullPage: true });
  // The owner shares the material with the community cadres, only inside community A, from the form.
  await owner.selectOption("#role", "community_cadre");
  await owner.selectOption("#within_jurisdiction", String(communityA.id));
  await owner.fill("#fields", "material");
  await Promise.all([owner.waitForURL(/\/data\/gas-pipelines/), owner.click("#share-form button.primary")]);
  const shared = await owner.$$eval("#policies ~ .table-wrap tbody tr", (rows) => rows.map((r) => r.textContent));
  check(shared.some((row) => (row.includes("社区干部") || row.includes("Community cadre")) && (row.includes("限定范围") || row.includes("inside an area"))), `the new policy: ${shared.join(" | ")}`);
  const cadreRead = await cadre.evaluate(async () => (await fetch("/api/v1/datasets/gas-pipelines/features")).json());
  check(cadreRead.features.length === 1 && cadreRead.features[0].properties.material === "PE", `the cadre of community A reads the pipe inside it: ${JSON.stringify(cadreRead)}`);
  await ownerContext.close();
});

await test("the main pages pass the WCAG 2 A and AA checks of axe-core", async () => {
  const axeSource = readFileSync(join(here, "..", "node_modules", "axe-core", "axe.min.js"), "utf8");
  // axe is injected for the check only; the pages themselves keep their strict policy.
  const checkContext = await context({ bypassCSP: true });
  const page = await checkContext.newPage();
  await signIn(page, "officer", "officer password");
  // The public pages are also checked as a visitor who is not signed in sees them.
  const visitorContext = await context({ bypassCSP: true });
  const visitor = await visitorContext.newPage();
  const problems = [];
  async function audit(reader, path) {
    await reader.goto(`${base}${path}`);
    await reader.waitForLoadState("networkidle");
    await reader.evaluate(axeSource);
    const result = await reader.evaluate(() => window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } }));
    for (const violation of result.violations) {
      if (violation.impact === "serious" || violation.impact === "critical") {
        problems.push(`${path}${reader === visitor ? " (visitor)" : ""}: ${violation.id} (${violation.impact}) on ${violation.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`);
      }
    }
  }
  const warningPages = [drawnWarningId, fieldWarningId].filter(Boolean).map((id) => `/warnings/${id}`);
  const publicPages = ["/public/warnings", "/public/data", ...(ackPath ? [ackPath] : [])];
  for (const path of ["/console", "/members", "/members/new", `/members/${memberA.id}`, "/jurisdictions", `/jurisdictions/${tianlin.id}`, "/organizations", "/teams", "/account", "/warnings", "/warnings/new", ...warningPages, "/tasks", "/sensors", "/sensors/gauge-e2e", "/rules", "/rules/e2e-rain", "/data", ...publicPages]) {
    await audit(page, path);
  }
  for (const path of publicPages) {
    await audit(visitor, path);
  }
  await visitorContext.close();
  await checkContext.close();
  check(problems.length === 0, `accessibility problems:\n  ${problems.join("\n  ")}`);
});

await browser.close();
server.kill("SIGTERM");
smsGateway.close();
smsGateway.closeAllConnections();
const unexpected = pageErrors.filter((e) => !e.includes("net::ERR_INTERNET_DISCONNECTED") && !e.includes("Failed to load resource: the server responded with a status of 403") && !e.includes("Failed to load resource: the server responded with a status of 422"));
if (unexpected.length) {
  failures += 1;
  console.log(`FAIL pages logged errors: ${unexpected.join(" | ")}`);
}
console.log(`${results.length} browser tests, ${failures} failed; screenshots in ${shots}`);
process.exit(failures ? 1 : 0);
