// `npm test`'s pretest: what the tests need beyond node_modules is there, installed, or named in one line.
import { ensurePrerequisites, PREREQUISITES, thisMachine } from './prerequisites.js'

if (!ensurePrerequisites(PREREQUISITES, thisMachine())) process.exitCode = 1
