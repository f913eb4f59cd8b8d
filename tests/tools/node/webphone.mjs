// Drives contrib/webphone (SIP.js in headless Chromium, Debian's browser, fake audio
// devices) for tests/interop/browser_sipjs.sh: loads URL, waits for "registered", then
// either calls TARGET, waits for "answered", holds the call HOLD_S and hangs up, or
// (TARGET "-") waits for an incoming call it answers (the page's answer=1) and for its
// hangup by the other side. Prints the page's events as JSON, one per line, and
// "ok:/FAIL:" lines; exit 0 when all pass.
// usage: node webphone.mjs URL TARGET|- HOLD_S TIMEOUT_S
import puppeteer from 'puppeteer-core';

const [url, target, hold_s, timeout_s] = process.argv.slice(2);
let failed = 0;
function check(name, ok, detail) {
    console.log((ok ? 'ok: ' : 'FAIL: ') + name + (ok || detail === undefined ? '' : ' (' + detail + ')'));
    if (!ok) failed++;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitEvent(page, name, ms) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        const evs = await page.evaluate(() => window.phoneEvents || []);
        if (evs.some((e) => e.event === name)) return true;
        if (evs.some((e) => e.event === 'registration-failed' || e.event === 'call-rejected')) return false;
        await sleep(100);
    }
    return false;
}

const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
           '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
           '--ignore-certificate-errors'],
});
const errors = [];
let page;
try {
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push('uncaught: ' + e.message));
    const consoleLines = [];
    page.on('console', (m) => consoleLines.push(m.type() + ': ' + m.text()));
    // the page's console, when something failed
    process.on('exit', () => {
        if (failed) for (const l of consoleLines.slice(-40)) console.log('console: ' + l);
    });
    await page.goto(url, { waitUntil: 'load', timeout: 20000 });
    const ms = Number(timeout_s) * 1000;
    check('the web phone registers over WebSocket', await waitEvent(page, 'registered', ms));
    if (target !== '-') {
        await page.evaluate((t) => window.sipkitPhone.call(t), target);
        check('its call is answered', await waitEvent(page, 'answered', ms));
        await sleep(Number(hold_s) * 1000);
        await page.evaluate(() => window.sipkitPhone.hangup());
        check('it hangs up', await waitEvent(page, 'hungup', 5000));
    } else {
        check('an incoming call reaches it', await waitEvent(page, 'incoming', ms));
        check('it answers (answered)', await waitEvent(page, 'answered', 5000));
        check('the other side hangs up (hungup)', await waitEvent(page, 'hungup', ms));
    }
    await page.evaluate(() => window.sipkitPhone.stop()).catch(() => {});
    check('it unregisters', await waitEvent(page, 'unregistered', 5000));
    check('no uncaught JavaScript error', errors.length === 0, errors.join('; '));
} catch (e) {
    check('the browser run', false, String(e));
} finally {
    if (page) {
        const evs = await page.evaluate(() => window.phoneEvents || []).catch(() => []);
        for (const e of evs) console.log('event: ' + JSON.stringify(e));
    }
    await browser.close();
}
process.exit(failed ? 1 : 0);
