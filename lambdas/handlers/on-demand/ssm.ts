/*
 * What a Lambda loads with the first command (a dynamic import, see ../lazy-adapters.ts): the client and its adapter, named, so
 * that esbuild keeps only what they use of the SDK package (a dynamic import of the package itself would keep every
 * command of the service).
 */
export { SSMClient } from '@aws-sdk/client-ssm';
export { SsmAutomationExecutions } from '../../adapters/aws/ssm-automation-executions.ts';
export { SsmCommandRunner } from '../../adapters/aws/ssm-command-runner.ts';
