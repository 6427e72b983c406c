// npm run schema:print: writes schema.graphql from the code (test/graphql/schema-drift.test.ts
// fails when the committed file differs).
import { writeFile } from 'node:fs/promises';
import { printSchemaSdl } from '../src/graphql/schema.js';

await writeFile(new URL('../schema.graphql', import.meta.url), printSchemaSdl());
console.log('wrote schema.graphql');
