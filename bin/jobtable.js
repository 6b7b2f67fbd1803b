#!/usr/bin/env node
// The `jobtable` command: loads the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

// The AWS SDK warns that its Node 20 support ends in 2027; the CLI runs on whatever Node is local.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../lib/cli/main.ts');
