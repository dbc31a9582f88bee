import { createHash } from 'node:crypto'
import t from 'tap'
import { SWAGGER_UI_INLINE_STYLE } from '../../plugins/docs.js'
import { buildTestApp } from '../helper.js'

function directives (header: unknown): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const part of String(header).split(';')) {
    const [name, ...values] = part.trim().split(/\s+/)
    if (name !== undefined && name !== '') map.set(name, values)
  }
  return map
}

/** Whether a CSP source list admits a same-origin URL without inline code ('self' only matters here). */
function allowsSelf (sources: string[] | undefined): boolean {
  return sources !== undefined && sources.includes("'self'")
}

// Issue 4.2: security headers on every answer; the API's JSON loads and runs nothing.
t.test('API answers carry helmet headers and a policy that allows nothing', async (t) => {
  const app = buildTestApp(t)
  for (const url of ['/health', '/users/me', '/no/such/route', '/openapi.json']) {
    const res = await app.inject({ method: 'GET', url })
    const csp = directives(res.headers['content-security-policy'])
    t.same(csp.get('default-src'), ["'none'"], url)
    t.same(csp.get('frame-ancestors'), ["'none'"], url)
    t.same(csp.get('base-uri'), ["'none'"], url)
    t.same(csp.get('form-action'), ["'none'"], url)
    t.equal(res.headers['x-content-type-options'], 'nosniff', url)
    t.equal(res.headers['x-frame-options'], 'DENY', url)
    t.equal(res.headers['referrer-policy'], 'no-referrer', url)
    t.equal(res.headers['cross-origin-resource-policy'], 'same-origin', url)
    t.match(res.headers['strict-transport-security'], /^max-age=\d+/, url)
  }
})

// Issue 4.2: the whole set helmet gives, once per answer, on successes and refusals alike.
t.test('every helmet header is on the answer, with helmet\'s value', async (t) => {
  const app = buildTestApp(t)
  const expected = {
    'content-security-policy': "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'",
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'origin-agent-cluster': '?1',
    'referrer-policy': 'no-referrer',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
    'x-content-type-options': 'nosniff',
    'x-dns-prefetch-control': 'off',
    'x-download-options': 'noopen',
    'x-frame-options': 'DENY',
    'x-permitted-cross-domain-policies': 'none',
    'x-xss-protection': '0'
  }
  for (const url of ['/health', '/admin-only']) {
    const res = await app.inject({ method: 'GET', url })
    for (const [name, value] of Object.entries(expected)) t.equal(res.headers[name], value, `${url} ${name}`)
    t.notOk('x-powered-by' in res.headers, url)
  }
})

t.test('Swagger UI at /docs loads under its policy: only same-origin scripts and styles, none inline', async (t) => {
  const app = buildTestApp(t)
  const page = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  // Issue 12.9: exactly this policy; the one inline style Swagger UI needs is admitted by its hash.
  const logoHash = `'sha256-${createHash('sha256').update(SWAGGER_UI_INLINE_STYLE).digest('base64')}'`
  t.equal(logoHash, "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='", 'the hash Chromium names for the blocked style')
  t.equal(page.headers['content-security-policy'], [
    "default-src 'self'", "base-uri 'self'", "connect-src 'self'", "font-src 'self' data:", "form-action 'self'",
    "frame-ancestors 'none'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'", "script-src-attr 'none'",
    `style-src 'self' ${logoHash}`
  ].join('; '))
  const csp = directives(page.headers['content-security-policy'])
  t.notOk(csp.get('style-src')?.some((source) => /unsafe/.test(source)), 'no unsafe-inline or unsafe-hashes for styles')
  const scriptSrc = csp.get('script-src')
  t.same(scriptSrc, ["'self'"], 'no unsafe-inline or unsafe-eval for scripts')
  t.same(csp.get('script-src-attr'), ["'none'"])
  t.ok(allowsSelf(csp.get('style-src')))
  t.ok(allowsSelf(csp.get('connect-src')), 'Try it out and Authorize call this API')
  t.same(csp.get('frame-ancestors'), ["'none'"])
  t.notOk(csp.has('upgrade-insecure-requests'), 'the server speaks plain HTTP by default')

  const html = page.body
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
  t.ok(scripts.length >= 3, 'the page has its scripts')
  for (const [, attributes = '', body = ''] of scripts) {
    t.equal(body.trim(), '', 'no inline script')
    const src = /\bsrc="([^"]+)"/.exec(attributes)?.[1]
    t.ok(src !== undefined && !/^[a-z]+:|^\/\//i.test(src), `script ${String(src)} is same-origin, which 'self' allows`)
    const url = new URL(src as string, 'http://api.test/docs/')
    const res = await app.inject({ method: 'GET', url: url.pathname })
    t.equal(res.statusCode, 200, url.pathname)
    t.match(res.headers['content-type'], /javascript/, url.pathname)
  }
  t.notMatch(html, /<style\b/, 'no inline style element')
  t.notMatch(html, /\sstyle="/, 'no inline style attribute')
  t.notMatch(html, /\son[a-z]+=/i, 'no inline event handler')
  for (const [, href = ''] of html.matchAll(/<link\b[^>]*\bhref="([^"]+)"/g)) {
    t.notMatch(href, /^[a-z]+:|^\/\//i, `${href} is same-origin`)
    t.equal((await app.inject({ method: 'GET', url: new URL(href, 'http://api.test/docs/').pathname })).statusCode, 200, href)
  }
  const initializer = await app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' })
  t.match(initializer.body, /resolveUrl\('\.\/json'\)/, 'the document comes from this origin')
  t.equal(directives(initializer.headers['content-security-policy']).get('script-src')?.join(' '), "'self'")
})

// Issue 12.9: the hash in the policy matches the only inline style the shipped scripts create, so an
// upgrade of Swagger UI that changes or adds one fails here, before a browser blocks it.
t.test('the only <style> element Swagger UI\'s scripts create is the one the /docs policy admits by hash', async (t) => {
  const app = buildTestApp(t)
  const created: string[] = []
  for (const script of ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-initializer.js']) {
    const res = await app.inject({ method: 'GET', url: `/docs/static/${script}` })
    t.equal(res.statusCode, 200, script)
    for (const [, text = ''] of res.body.matchAll(/createElement\("style",[^,]*,"([^"]*)"/g)) created.push(text)
    // A style attribute set as markup is governed by CSP; one set through the CSSOM (React's way) is not.
    t.notMatch(res.body, /\.setAttribute\("style"/, `${script} sets no style attribute as markup`)
  }
  t.same(created, [SWAGGER_UI_INLINE_STYLE])
})
