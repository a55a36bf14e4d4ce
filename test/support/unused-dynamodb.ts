import type { DynamoDbApi } from '../../lambdas/adapters/aws/dynamodb-http.ts';

/** DynamoDB for a runtime a test builds but never lets reach the table: any call fails the test, naming it. */
export const UNUSED_DYNAMODB: DynamoDbApi = {
  call: async (operation) => {
    throw new Error(`this test expects no DynamoDB call, got ${operation}`);
  },
};
