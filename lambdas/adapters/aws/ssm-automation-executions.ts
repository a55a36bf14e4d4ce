import {
  AutomationExecutionNotFoundException,
  GetAutomationExecutionCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { AutomationExecutionFacts } from '../../core/automation-invocation.ts';

/** What the operator API asks SSM about the execution that invokes it. */
export interface AutomationExecutions {
  describe(executionId: string): Promise<AutomationExecutionFacts | undefined>;
}

/** `ssm:GetAutomationExecution`: the runbook, the status and who started it; undefined for an unknown id. */
export class SsmAutomationExecutions implements AutomationExecutions {
  constructor(private readonly ssm: SSMClient) {}

  async describe(executionId: string): Promise<AutomationExecutionFacts | undefined> {
    try {
      const { AutomationExecution: e } = await this.ssm.send(
        new GetAutomationExecutionCommand({ AutomationExecutionId: executionId }),
      );
      if (!e) return undefined;
      return {
        documentName: e.DocumentName ?? '',
        status: e.AutomationExecutionStatus ?? 'Unknown',
        executedBy: e.ExecutedBy ?? '',
      };
    } catch (error) {
      if (error instanceof AutomationExecutionNotFoundException) return undefined;
      throw error;
    }
  }
}
