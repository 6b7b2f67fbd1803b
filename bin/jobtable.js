#!/usr/bin/env node
// The `jobtable` command: loads the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../lib/cli/main.ts');
