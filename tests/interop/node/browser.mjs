// A person at a real browser: Debian's Chromium, driven by playwright-core, opens the SPA
// (tests/interop/spa, oidc-client-ts), signs in on idgate's real login page, approves on its
// real consent page, and reads what the SPA shows. Screenshots go to cfg.screenshots.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { run, step } from './harness.mjs';

// The flags this machine needs (no network but loopback, running as root), see docs/interop.md.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function signin(cfg) {
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'idgate-interop-chromium-'));
  await fs.mkdir(cfg.screenshots, { recursive: true });
  const shot = (page, name) =>
    page.screenshot({ path: path.join(cfg.screenshots, `${name}.png`), fullPage: true });
  // A fresh --user-data-dir: Playwright passes `profile` as that flag.
  const context = await step('launch Chromium', () =>
    chromium.launchPersistentContext(profile, {
      executablePath: cfg.chromium,
      headless: true,
      args: FLAGS,
      viewport: { width: 1000, height: 800 },
    }),
  );
  const log = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('console', (message) => log.push(`console.${message.type()}: ${message.text()}`));
    page.on('pageerror', (err) => log.push(`pageerror: ${err.message}`));
    page.on('requestfailed', (request) =>
      log.push(`request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`),
    );
    const spa = new URL(cfg.spa_url);
    try {
      await step('open the SPA', () => page.goto(spa.href));
      await step('SPA: click "Sign in with idgate"', () => page.click('#login'));
      await step('idgate login page', () => page.waitForSelector('input[name="password"]'));
      const loginUrl = page.url();
      await step('type into the login page', async () => {
        await page.fill('input[name="username"]', cfg.username);
        await page.fill('input[name="password"]', cfg.password);
      });
      await shot(page, 'login');
      await step('click "Sign in"', () =>
        page.click('form:has(input[name="password"]) button[type="submit"]'),
      );
      await step('idgate consent page', () =>
        page.waitForSelector('button[name="decision"][value="approve"]'),
      );
      const consentUrl = page.url();
      await shot(page, 'consent');
      await step('click "Approve"', () => page.click('button[name="decision"][value="approve"]'));
      await step('back at the SPA after the consent POST and its redirect', () =>
        page.waitForURL((url) => url.origin === spa.origin && url.pathname === '/callback'),
      );
      await step('the SPA shows a profile or an error', () =>
        page.waitForSelector('#signed-in:not([hidden]), #error:not([hidden])'),
      );
      await shot(page, 'final');
      const shown = await page.evaluate(() => ({
        profile: document.getElementById('signed-in').hidden
          ? null
          : JSON.parse(document.getElementById('profile').textContent),
        name: document.getElementById('name').textContent,
        error: document.getElementById('error').hidden
          ? null
          : document.getElementById('error').textContent,
      }));
      return { login_url: loginUrl, consent_url: consentUrl, ...shown, log };
    } catch (err) {
      await shot(page, 'failure').catch(() => {});
      err.message = `${err.message}\nat ${page.url()}\nbrowser log:\n${log.join('\n')}`;
      throw err;
    }
  } finally {
    await context.close();
    await fs.rm(profile, { recursive: true, force: true });
  }
}

await run({ signin });
