import { Ajv, type ErrorObject, type Options as AjvOptions } from 'ajv'
import formats from 'ajv-formats'
import type { Static, TSchema } from '@sinclair/typebox'

export type Validator<T extends TSchema> = (value: unknown) => { value: Static<T>, problems?: undefined } | { problems: string[] }

const addFormats = formats.default

function fieldName (...parts: string[]): string {
  return parts.filter(Boolean).join('.') || 'value'
}

/** One problem per field, worded for people: `email must match format "email"`, `role is required`. */
function describe (errors: readonly ErrorObject[]): string[] {
  const byField = new Map<string, string>()
  for (const error of errors) {
    const path = error.instancePath.slice(1).replaceAll('/', '.')
    const [field, message] = error.keyword === 'required'
      ? [fieldName(path, String(error.params.missingProperty)), 'is required']
      : error.keyword === 'additionalProperties'
        ? [fieldName(path, String(error.params.additionalProperty)), 'is not a known field']
        : [fieldName(path), String(error.message)]
    // The first error of a field tells; later ones of the same field repeat it in other words.
    if (!byField.has(field)) byField.set(field, message)
  }
  return [...byField].map(([field, message]) => `${field} ${message}`)
}

/** The Ajv of every validation: bodies kept as sent (no property removed), formats checked. */
export function createAjv (options: AjvOptions = {}): Ajv {
  const ajv = new Ajv({ removeAdditional: false, useDefaults: true, allErrors: false, strict: false, ...options })
  addFormats(ajv)
  return ajv
}

/**
 * Compiles a TypeBox schema with the API's body settings, so that code outside Fastify (the CLI)
 * accepts exactly what the API accepts.
 */
export function createValidator<T extends TSchema> (schema: T): Validator<T> {
  const ajv = createAjv({ coerceTypes: false, allErrors: true })
  const check = ajv.compile(schema)
  return (value) => check(value) ? { value: value as Static<T> } : { problems: describe(check.errors as ErrorObject[]) }
}
