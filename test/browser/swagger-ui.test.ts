import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Locator, type Page } from 'playwright-core'
import { buildTestApp } from '../helper.js'

// Debian's Chromium, installed by .ci/install-chromium.sh; playwright-core never downloads a browser.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run']

/** Expands an operation, presses "Try it out" then "Execute", and waits until the UI shows `expected`. */
async function execute (page: Page, operation: Locator, method: string, path: string, expected: number): Promise<number> {
  if (!await operation.locator('button.execute').isVisible()) {
    if (!await operation.locator('button.try-out__btn').isVisible()) await operation.locator('.opblock-summary').click()
    await operation.locator('button.try-out__btn').click()
  }
  const [response] = await Promise.all([
    page.waitForResponse((res) => new URL(res.url()).pathname === path && res.request().method() === method),
    operation.locator('button.execute').click()
  ])
  await operation.locator('.live-responses-table .response-col_status', { hasText: String(expected) }).waitFor()
  return response.status()
}

interface Violation { directive: string, blocked: string, sample: string, source: string }

/**
 * Collects every CSP violation of the page's documents: the `securitypolicyviolation` events (with
 * what was blocked) and the console lines Chromium writes for them, which is what a user sees.
 */
async function watchCsp (page: Page): Promise<{ violations: Violation[], consoleLines: string[] }> {
  const violations: Violation[] = []
  const consoleLines: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) consoleLines.push(message.text())
  })
  await page.exposeFunction('reportCspViolation', (violation: Violation) => { violations.push(violation) })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = (window as unknown as { reportCspViolation: (v: Violation) => void }).reportCspViolation
      report({
        directive: event.effectiveDirective,
        blocked: event.blockedURI,
        sample: event.sample,
        source: `${event.sourceFile}:${event.lineNumber}:${event.columnNumber}`
      })
    })
  })
  return { violations, consoleLines }
}

async function saveScreenshot (page: Page): Promise<string> {
  const folder = join(process.cwd(), '.tap', 'screenshots')
  await mkdir(folder, { recursive: true })
  const path = join(folder, `swagger-ui-${Date.now()}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

// API.md "OpenAPI": "Swagger UI's Authorize button (password flow) works against /token".
t.test('in Swagger UI, with no CSP violation, a call without authorizing gets 401; after Authorize as johndoe ' +
  'with only items:read, GET /items gets 200 and POST /items 403', async (t) => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: ` +
      'run .ci/install-chromium.sh (apt-get install -y chromium) or set CHROMIUM_PATH')
  }
  const app = buildTestApp(t)
  const origin = await app.listen({ host: '127.0.0.1', port: 0 })
  const userDataDir = await mkdtemp(join(tmpdir(), 'secure-api-chromium-'))
  const browser = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  const page = browser.pages()[0] ?? await browser.newPage()
  page.setDefaultTimeout(10_000)
  const csp = await watchCsp(page)
  try {
    await page.goto(`${origin}/docs`)
    const listItems = page.locator('#operations-items-get_items')
    const createItem = page.locator('#operations-items-post_items')

    t.equal(await execute(page, listItems, 'GET', '/items', 401), 401, 'GET /items before authorizing')

    await page.locator('.auth-wrapper button.authorize').click()
    const dialog = page.locator('.modal-ux')
    await dialog.locator('#oauth_username').fill('johndoe')
    await dialog.locator('#oauth_password').fill('secret')
    await dialog.locator('label[for="items:read-password-checkbox-OAuth2PasswordBearer"]').click()
    const [tokenRequest] = await Promise.all([
      page.waitForRequest((req) => req.url() === `${origin}/token`),
      dialog.locator('button.authorize').click()
    ])
    await dialog.locator('button', { hasText: 'Logout' }).waitFor()
    const form = new URLSearchParams(tokenRequest.postData() ?? '')
    t.same([form.get('grant_type'), form.get('username'), form.get('scope')], ['password', 'johndoe', 'items:read'], 'the token request')
    t.equal((await tokenRequest.response())?.status(), 200, 'POST /token')
    await dialog.locator('button.btn-done').click()

    t.equal(await execute(page, listItems, 'GET', '/items', 200), 200, 'GET /items with items:read')
    t.equal(await execute(page, createItem, 'POST', '/items', 403), 403, 'POST /items without items:write')

    // Issue 12.9: the page renders and runs under its policy with nothing blocked. The logo's
    // violation was reported as the page loaded; a last frame lets late reports arrive.
    await page.evaluate(async () => await new Promise((resolve) => requestAnimationFrame(resolve)))
    t.same(csp.violations, [], 'no securitypolicyviolation event')
    t.same(csp.consoleLines, [], 'no CSP violation in the console')
  } catch (err) {
    t.comment(`screenshot of the failure: ${await saveScreenshot(page)}`)
    throw err
  } finally {
    await browser.close()
    await rm(userDataDir, { recursive: true, force: true })
  }
})
