// Opens a `sipkit flow --html` page in headless Chromium (puppeteer-core, Debian's
// browser) and checks it as a reader would: no JavaScript error or CSP refusal in the
// console, no request leaves the file, no dialog (a hostile capture's script never
// runs), a click on an arrow opens that message's text; then writes a screenshot.
// usage: node htmlcheck.mjs PAGE.html SHOT.png [EXPECT_TEXT]
//   EXPECT_TEXT: a string the message opened by clicking the hostile call's 486 arrow
//   must contain, as text. Prints "ok: ..." / "FAIL: ..." lines; exit 0 when all pass.
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [page_file, shot, expect_text] = process.argv.slice(2);
if (!page_file || !shot) {
    console.error('usage: node htmlcheck.mjs PAGE.html SHOT.png [EXPECT_TEXT]');
    process.exit(2);
}
let failed = 0;
function check(name, ok, detail) {
    console.log((ok ? 'ok: ' : 'FAIL: ') + name + (ok || detail === undefined ? '' : ' (' + detail + ')'));
    if (!ok) failed++;
}

const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // root on CI: no sandbox; no GPU in containers
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
    const errors = [], foreign = [], dialogs = [];
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push('uncaught: ' + e.message));
    page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
    page.on('request', (r) => {
        const u = r.url();
        if (!u.startsWith('file:') && !u.startsWith('data:')) foreign.push(u);
    });
    await page.setViewport({ width: 1280, height: 900 });
    const url = 'file://' + path.resolve(page_file);
    await page.goto(url, { waitUntil: 'load', timeout: 20000 });
    const title = await page.title();
    check('the page loads (title "' + title + '")', title.startsWith('sipkit flow'));

    // the first arrow of the first ladder: its message opens, and only it
    const ladders = await page.$$('svg.ladder');
    check('ladders drawn (' + ladders.length + ')', ladders.length > 0);
    const first = await page.$('svg.ladder g.msg');
    if (first) {
        const id = await first.evaluate((g) => g.getAttribute('data-msg'));
        const before = await page.$eval('#' + id, (d) => d.open);
        await first.click();
        const after = await page.$eval('#' + id, (d) => ({ open: d.open, text: d.querySelector('pre').textContent }));
        const nopen = await page.$$eval('details.m[open]', (l) => l.length);
        check('a click on the first arrow opens its message (' + id + ')',
              !before && after.open && nopen === 1 && /^[A-Z]+ \S+ SIP\/2\.0\n/.test(after.text),
              JSON.stringify(after.text.slice(0, 80)));
        const sel = await first.evaluate((g) => g.classList.contains('sel'));
        check('the clicked arrow is marked', sel);
    }

    // the hostile call's response: its markup is text, nothing of it ran
    if (expect_text) {
        const arrows = await page.$$('svg.ladder g.msg');
        let hit = null;
        for (const g of arrows) {
            const t = await g.evaluate((e) => e.querySelector('title').textContent);
            if (t.includes(' 486 ')) { hit = g; break; }
        }
        check('the 486 arrow is there', hit !== null);
        if (hit) {
            await hit.click();
            const id = await hit.evaluate((g) => g.getAttribute('data-msg'));
            const text = await page.$eval('#' + id + ' pre', (p) => p.textContent);
            check('its message shows the hostile header as text', text.includes(expect_text),
                  JSON.stringify(text.slice(0, 200)));
        }
        const injected = await page.evaluate(() => ({
            scripts: document.scripts.length,
            imgs: document.images.length,
            handlers: [...document.querySelectorAll('*')].filter((e) =>
                [...e.attributes].some((a) => a.name.startsWith('on'))).length,
        }));
        check('no element came from the capture (scripts ' + injected.scripts + ', images ' +
              injected.imgs + ', on* handlers ' + injected.handlers + ')',
              injected.scripts === 1 && injected.imgs === 0 && injected.handlers === 0);
    }

    // a frame link of a finding opens the message it names
    const link = await page.$('ul.findings a[href^="#c"]');
    if (link) {
        const href = await link.evaluate((a) => a.getAttribute('href'));
        await link.click();
        await page.waitForFunction((h) => document.querySelector(h).open, { timeout: 5000 }, href);
        check('an evidence frame link opens its message (' + href + ')', true);
    }

    check('no JavaScript error or CSP refusal in the console', errors.length === 0, errors.join(' | '));
    check('no request leaves the file', foreign.length === 0, foreign.join(' '));
    check('no dialog opened', dialogs.length === 0, dialogs.join(' | '));
    check('the title is the page\'s own', (await page.title()) === title);
    // the whole page, up to what Chromium can draw in one image
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    if (height <= 12000)
        await page.screenshot({ path: shot, fullPage: true });
    else
        await page.screenshot({ path: shot, clip: { x: 0, y: 0, width, height: 12000 }, captureBeyondViewport: true });
    console.log('screenshot: ' + shot);
} finally {
    await browser.close();
}
process.exit(failed ? 1 : 0);
