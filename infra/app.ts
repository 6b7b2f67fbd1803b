/**
 * The CDK app: `npx cdk synth|deploy -c stage=<dev|prod>`. Rejects a missing or unknown stage.
 */
import { App } from 'aws-cdk-lib';
import { stageConfig } from './config.ts';
import type { StageConfig } from './config.ts';
import { buildApp } from './stack.ts';

const app = new App();
let config: StageConfig;
try {
  config = stageConfig(app.node.tryGetContext('stage'));
} catch (err) {
  console.error(`jobtable: ${(err as Error).message}`);
  process.exit(1);
}
buildApp(config, app);
app.synth();
