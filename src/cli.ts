#!/usr/bin/env node
import { main } from './cli/main.js'

const { env, stdin, stdout, stderr } = process
process.exitCode = await main(process.argv.slice(2), { env, stdin, stdout, stderr })
