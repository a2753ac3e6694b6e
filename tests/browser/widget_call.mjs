// Drives the widget demo page in headless Chromium with a fake microphone playing a WAV file,
// the way a visitor would: load, click the mic button, talk, listen, hang up. Prints one JSON
// object with what the page saw; tests/widget.rs asserts on it.
//   node widget_call.mjs --url URL --wav FILE --shots DIR [--expect ended|error] [--timeout S]
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const url = arg('url');
const wav = arg('wav');
const shots = arg('shots');
const expect = arg('expect', 'ended');
const prefix = arg('prefix', '');
const timeoutMs = Number(arg('timeout', '120')) * 1000;
// `denied`: the visitor refuses the microphone; `unreachable`: the page points the widget at a
// server that is not there (`--server`).
const scenario = arg('scenario', 'call');
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required',
    ...(scenario === 'denied' ? [] : ['--use-fake-ui-for-media-stream']),
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${wav}%noloop`,
  ],
});
const result = { states: [], shots: [], console: [] };
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  page.on('console', (m) => result.console.push(m.text()));
  page.on('pageerror', (e) => result.console.push('pageerror: ' + e.message));
  if (scenario === 'unreachable') {
    // A page elsewhere embedding the widget with a server address that nobody answers.
    const script = new URL('/widget.js', url).href;
    await page.goto(new URL('/health', url).href);
    await page.setContent(`<!doctype html><html lang="en"><body><h1>Shop</h1><script src="${script}" data-site-id="s" data-key="k" data-server="${arg('server')}"></script></body></html>`);
  } else {
    await page.goto(url);
  }
  await page.waitForFunction(() => window.VaartaWidget && document.querySelector('[data-vaarta-widget]'));
  const shot = async (name) => {
    const file = join(shots, `${prefix}${name}.png`);
    await page.screenshot({ path: file });
    result.shots.push(file);
  };
  await shot('idle');
  result.states.push('idle');
  // The button lives in the widget's open shadow root; Playwright's CSS engine pierces it.
  await page.click('button.mic');
  const done = expect === 'error' ? ['error'] : ['ended', 'error'];
  const deadline = Date.now() + timeoutMs;
  let state = 'idle';
  while (Date.now() < deadline) {
    const s = await page.evaluate(() => window.VaartaWidget.state);
    if (s !== state) {
      state = s;
      result.states.push(s);
      if (!result.shots.some((f) => f.endsWith(`${prefix}${s}.png`))) await shot(s);
    }
    if (done.includes(s)) break;
    await page.waitForTimeout(50);
  }
  result.widget = await page.evaluate(() => {
    const w = window.VaartaWidget;
    return { state: w.state, callId: w.callId, error: w.error, transcripts: w.transcripts, botTexts: w.botTexts, stats: w.stats,
      events: w.events.map((e) => e.type), captions: document.querySelector('[data-vaarta-widget]').shadowRoot.querySelector('.captions').innerText,
      button: document.querySelector('[data-vaarta-widget]').shadowRoot.querySelector('button.mic').getAttribute('aria-label') };
  });
  // States the real call passed too quickly to photograph are rendered for the look check.
  for (const s of ['connecting', 'listening', 'thinking', 'speaking']) {
    if (expect === 'ended' && !result.shots.some((f) => f.endsWith(`${prefix}${s}.png`))) {
      await page.evaluate((st) => window.VaartaWidget.preview(st), s);
      await shot(`${s}-preview`);
    }
  }
} catch (e) {
  result.failure = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
