#!/usr/bin/env node
// tdplan runs from its TypeScript sources through tsx's loader: no build step to forget.
import { register } from 'tsx/esm/api';

// graphql-js checks every failed instanceof for a second copy of itself unless NODE_ENV is
// production: a few percent of the CPU of every request (bench/README.md). Tests run as `test`.
process.env.NODE_ENV ??= 'production';
register();
await import('../src/cli.ts');
