import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { resolve, sep } from 'node:path'
import type { RouteOptions } from 'fastify'
import t from 'tap'
import { CONFIG_VARIABLES } from '../src/config.js'
import { buildTestApp } from './helper.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const read = (path: string): string => readFileSync(resolve(ROOT, path), 'utf8')

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const slug = (heading: string): string => heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')

// Issue 14 "The README stands alone": no link leaves the repository, and every link inside it leads somewhere.
for (const file of ['README.md', 'SECURITY.md']) {
  t.test(`${file}'s links stay in the repository and lead to a file or a heading`, async (t) => {
    const text = read(file)
    const anchors = new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1] ?? '')))
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '').filter((link) => !/^https?:\/\//.test(link))
    for (const link of links) {
      const [path = '', anchor] = link.split('#')
      if (path === '') {
        t.ok(anchors.has(anchor ?? ''), `${link} names a heading of ${file}`)
      } else {
        const target = resolve(ROOT, path)
        t.ok(target.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep) && existsSync(target), `${link} is a file of the repository`)
      }
    }
  })
}

t.test('README documents every route the server has', async (t) => {
  const app = buildTestApp(t)
  const routes: RouteOptions[] = []
  app.addHook('onRoute', (route) => { routes.push(route) })
  await app.ready()
  const readme = read('README.md')
  const documented = routes.filter((r) => r.method !== 'HEAD' && r.schema?.hide !== true && !r.url.startsWith('/docs/'))
  t.ok(documented.length > 10)
  t.same(documented.map((r) => `${String(r.method)} ${r.url}`).filter((route) => !readme.includes(`\`${route}\``)), [])
})

t.test('README documents every environment variable that the configuration reads', async (t) => {
  const readme = read('README.md')
  t.same(CONFIG_VARIABLES.filter((name) => !readme.includes(`\`${name}\``)), [])
})

t.test('the repository has the MIT license that package.json names', async (t) => {
  t.match(read('LICENSE'), /^MIT License\n/)
  t.equal((JSON.parse(read('package.json')) as { license: string }).license, 'MIT')
})
