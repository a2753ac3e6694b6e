// Opens /dashboard in headless Chromium, enters a key, waits for the figures and charts, takes a
// screenshot, and prints what the page shows as one JSON object (tests/dashboard.rs asserts).
//   node dashboard.mjs --url URL --token KEY --shot FILE
import { chromium } from 'playwright-core';

const arg = (name) => process.argv[process.argv.indexOf('--' + name) + 1];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = { console: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => out.console.push('pageerror: ' + e.message));
  await page.goto(arg('url'));
  await page.fill('#token', arg('token'));
  await page.click('header button[type=submit]');
  await page.waitForFunction(() => window.VaartaDashboard.loaded || window.VaartaDashboard.error, null, { timeout: 30000 });
  await page.waitForTimeout(300);
  await page.screenshot({ path: arg('shot'), fullPage: true });
  out.page = await page.evaluate(() => ({
    loaded: window.VaartaDashboard.loaded,
    error: window.VaartaDashboard.error,
    total_calls: window.VaartaDashboard.summary && window.VaartaDashboard.summary.total_calls,
    kpis: Array.from(document.querySelectorAll('.kpi')).map((k) => [k.children[0].textContent, k.children[1].textContent]),
    charts: document.querySelectorAll('.uplot canvas').length,
    languages: document.querySelector('#languages').innerText,
    outcomes: document.querySelector('#outcomes').innerText,
    live: document.querySelector('#live').innerText,
    status: document.querySelector('#status').textContent,
  }));
  // A wrong key is said plainly.
  await page.fill('#token', 'vk_wrong');
  await page.click('header button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Could not load'), null, { timeout: 10000 });
  out.wrong_key_status = await page.evaluate(() => document.querySelector('#status').textContent);
} catch (e) {
  out.failure = String((e && e.stack) || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
