// Every page a person sees, rendered by Debian's Chromium (driven by playwright-core) in each
// language at each width: a screenshot of each, and axe-core's accessibility findings.
//
// `node pages.mjs CONFIG_JSON` (see tests/pages/test_pages_in_browser.py for the fields) prints
// one JSON object on stdout: {"pages": [...], "log": [...]}, or {"error": ...}.
import fs from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = await fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

// The flags this machine needs (loopback only, running as root), as in tests/interop.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const cfg = JSON.parse(process.argv[2]);
const results = [];
const log = [];

async function audit(page) {
  // Evaluated through the DevTools protocol: the pages' own CSP (rightly) allows no such script.
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const found = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return found.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
    }));
  });
}

async function record(page, name, variant, { axe = true } = {}) {
  const file = path.join(cfg.out, `${variant.language}-${variant.width}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const facts = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    h1: document.querySelector('h1')?.textContent.trim() ?? '',
    title: document.title,
    product: document.querySelector('.product')?.textContent.trim() ?? '',
    footer: document.querySelector('footer')?.textContent.trim() ?? '',
    logo: document.querySelector('img.logo')?.naturalWidth ?? 0,
    accent: (() => {
      const button = document.querySelector('button.primary');
      return button ? getComputedStyle(button).backgroundColor : null;
    })(),
    overflow: document.documentElement.scrollWidth > window.innerWidth,
    stylesheet: [...document.styleSheets].some((s) => {
      try {
        return s.cssRules.length > 0;
      } catch {
        return false;
      }
    }),
  }));
  results.push({
    name,
    ...variant,
    file,
    url: page.url(),
    ...facts,
    violations: axe ? await audit(page) : null,
  });
}

async function withPage(browser, variant, options, fn) {
  const context = await browser.newContext({
    viewport: variant.viewport,
    locale: variant.locale,
    extraHTTPHeaders: { 'Accept-Language': variant.locale },
    javaScriptEnabled: options.javaScriptEnabled ?? true,
  });
  // The client's https origin: its logo, and its redirect_uri answering 204 (a 204 leaves the
  // browser on the form_post page, to look at).
  await context.route(`${cfg.rp_origin}/**`, (route) =>
    new URL(route.request().url()).pathname === cfg.client_logo.path
      ? route.fulfill({ status: 200, contentType: 'image/svg+xml', body: cfg.client_logo.svg })
      : route.fulfill({ status: 204, body: '' }),
  );
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const tag = `${variant.language}-${variant.width}`;
  page.on('console', (m) => log.push(`${tag} console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (err) => log.push(`${tag} pageerror: ${err.message}`));
  page.on('requestfailed', (r) => log.push(`${tag} request failed: ${r.url()}: ${r.failure()?.errorText}`));
  try {
    await fn(page);
  } finally {
    await context.close();
  }
}

async function signIn(page, password) {
  await page.fill('input[name="username"]', cfg.username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForNavigation(), page.click('form.stack button[type="submit"]')]);
}

async function runThemed(browser, variant) {
  await withPage(browser, variant, {}, async (page) => {
    await page.goto(cfg.authorize_url);
    await page.waitForSelector('input[name="password"]');
    await record(page, 'themed-login', variant);
  });
}

async function run(browser, variant) {
  await withPage(browser, variant, {}, async (page) => {
    await page.goto(cfg.authorize_url);
    await page.waitForSelector('input[name="password"]');
    await record(page, 'login', variant);
    await signIn(page, 'not the password');
    await page.waitForSelector('#login-error');
    await record(page, 'login-error', variant);
    await signIn(page, cfg.password);
    await page.waitForSelector('button[value="approve"]');
    await record(page, 'consent', variant);
    // The auto-submit ends in the 204 above (an aborted navigation): the page stays.
    const posted = page.waitForEvent('requestfailed', {
      predicate: (r) => r.url().startsWith(cfg.rp_origin),
    });
    await page.click('button[value="approve"]');
    await posted;
    await page.waitForSelector(`form[action^="${cfg.rp_origin}"]`, { state: 'attached' });
    await record(page, 'form-post', variant);

    await page.goto(cfg.logout_url);
    await page.waitForSelector('button[value="logout"]');
    await record(page, 'logout-confirm', variant);
    await Promise.all([page.waitForNavigation(), page.click('button[value="logout"]')]);
    await record(page, 'logged-out', variant);

    for (const error of cfg.errors) {
      await page.goto(error.url);
      await record(page, `error-${error.name}`, variant);
    }
    await page.goto(cfg.outage_url);
    await record(page, 'error-database-unavailable', variant);
  });

  // No JavaScript at all: the whole flow still works, and form_post shows its button.
  await withPage(browser, variant, { javaScriptEnabled: false }, async (page) => {
    await page.goto(cfg.authorize_url);
    await signIn(page, cfg.password);
    await Promise.all([page.waitForNavigation(), page.click('button[value="approve"]')]);
    await page.waitForSelector('noscript button, form button[type="submit"]', { state: 'attached' });
    await record(page, 'form-post-no-javascript', variant, { axe: false });
  });
}

async function main() {
  await fs.mkdir(cfg.out, { recursive: true });
  const browser = await chromium.launch({ executablePath: cfg.chromium, headless: true, args: FLAGS });
  try {
    for (const language of cfg.languages) {
      for (const [width, viewport] of Object.entries(cfg.widths)) {
        const variant = { language: language.tag, locale: language.locale, width, viewport };
        await (cfg.themed ? runThemed(browser, variant) : run(browser, variant));
      }
    }
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify({ pages: results, log })}\n`);
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: String(err?.stack ?? err), pages: results, log })}\n`);
  process.exitCode = 1;
});
