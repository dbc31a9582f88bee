import { isUtf8 } from 'node:buffer'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { HttpError } from '../src/errors.js'

/**
 * JSON is the only body the API reads (routes/oauth.ts reads forms in its own scope); any other
 * media type, text/plain included, is a 415. Bytes that are not UTF-8 are a 400 (RFC 8259 §8.1)
 * rather than silently turned into U+FFFD.
 */
async function jsonBody (app: FastifyInstance): Promise<void> {
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (!isUtf8(body)) return done(new HttpError(400, 'The body is not valid UTF-8'), undefined)
    parseJson(request, body.toString('utf8'), done)
  })
}

export default fp(jsonBody, { name: 'json-body' })
