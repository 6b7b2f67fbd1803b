#!/usr/bin/env node
/**
 * The `jobtable` executable (package.json `bin`). Silences the AWS SDK's notice that its Node 20
 * support ends in 2027 (the CLI runs on whatever Node is local), then loads the CLI; the import
 * is dynamic so that the setting is in place before the SDK loads.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
await import('./main.ts');
